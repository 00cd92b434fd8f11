# ShelfNet18-lw (real-time) on Cityscapes fine: the official recipe (2 GPUs x 8 images,
# 1024x1024 crops, SGD 0.01 / momentum 0.9 / wd 5e-4, head lr x10, warm-up then poly 0.9,
# 80k iterations, OHEM cross-entropy on the main and both auxiliary outputs).
_base_ = [
    '../_base_/models/shelfnet-lw_r18.py', 'mmseg::_base_/datasets/cityscapes_1024x1024.py',
    'mmseg::_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (1024, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=8, num_workers=4)
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    paramwise_cfg=dict(custom_keys={'decode_head': dict(lr_mult=10.)}))
# official warm-up: 1000 iterations from 1e-5 to 1e-2, then poly 0.9 down to 0
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1000),
    dict(type='PolyLR', eta_min=0, power=0.9, by_epoch=False, begin=1000, end=80000)
]
