# RF-LW-MobileNet-v2 on Cityscapes fine, 512x1024 crops, trained from ImageNet weights; the
# ResNet models' recipe (SGD momentum 0.9, weight decay 1e-5, decoder lr x10, frozen encoder
# BN statistics, poly) with the official MobileNet-v2 learning rates, twice the ResNet ones.
_base_ = [
    '../_base_/models/lw-refinenet_mbv2.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor, decode_head=dict(num_classes=19))
train_dataloader = dict(batch_size=2, num_workers=2)
# the official MobileNet-v2 setting: twice the ResNet learning rates (encoder 1e-3,
# decoder 1e-2)
optimizer = dict(type='SGD', lr=1e-3, momentum=0.9, weight_decay=1e-5)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=80000, by_epoch=False)
]
