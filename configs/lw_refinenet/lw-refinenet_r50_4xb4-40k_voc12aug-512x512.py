# RF-LW-ResNet-50 on PASCAL VOC 2012 + SBD (aug), 512x512 crops, trained from ImageNet
# weights (the official checkpoints are lost). The official recipe: SGD momentum 0.9, weight
# decay 1e-5, encoder lr 5e-4 and decoder lr 10x that (5e-3), frozen encoder BN statistics;
# poly decay replaces the official multi-stage step schedule.
_base_ = [
    '../_base_/models/lw-refinenet_r50.py', 'mmseg::_base_/datasets/pascal_voc12_aug.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_40k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (512, 512)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor, decode_head=dict(num_classes=21))
train_dataloader = dict(batch_size=4, num_workers=4)
# The official evaluation runs at the images' own resolution (no test-time resize; the
# toolbox's VOC pipeline would scale them to a 512 short side).
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
optimizer = dict(type='SGD', lr=5e-4, momentum=0.9, weight_decay=1e-5)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=40000, by_epoch=False)
]
