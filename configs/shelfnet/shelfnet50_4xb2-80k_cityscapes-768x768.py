# ShelfNet50 on Cityscapes fine, 768x768 crops (the official Cityscapes crop), SE-loss and
# FCN auxiliary head as on VOC, 19 classes.
_base_ = [
    '../_base_/models/shelfnet_r50.py', 'mmseg::_base_/datasets/cityscapes_768x768.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (768, 768)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    decode_head=dict(num_classes=19),
    auxiliary_head=dict(num_classes=19),
    test_cfg=dict(mode='slide', crop_size=(768, 768), stride=(512, 512)))
train_dataloader = dict(batch_size=2, num_workers=4)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={
        'decode_head': dict(lr_mult=10.),
        'auxiliary_head': dict(lr_mult=10.)
    }))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, by_epoch=False, begin=0, end=80000)
]
