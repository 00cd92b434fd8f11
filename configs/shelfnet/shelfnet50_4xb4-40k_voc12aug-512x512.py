# ShelfNet50 on PASCAL VOC 2012 + SBD aug, 512x512 crops, from ImageNet weights.
# The official model was pre-trained on COCO and fine-tuned; here it is the toolbox's usual
# VOC-aug schedule with the official optimiser settings (SGD, momentum 0.9, wd 1e-4,
# head and auxiliary head lr x10, poly 0.9) and losses (CE + 0.2 SE + 0.5 FCN aux).
_base_ = [
    '../_base_/models/shelfnet_r50.py', 'mmseg::_base_/datasets/pascal_voc12_aug.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_40k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=4, num_workers=4)
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
    dict(type='PolyLR', eta_min=0, power=0.9, by_epoch=False, begin=0, end=40000)
]
