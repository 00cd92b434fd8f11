# The embedded default (`make demo`): LRNNet on synthetic street scenes, CPU-sized.
_base_ = [
    '../_base_/models/lrnnet.py', '../_base_/datasets/synthetic_streets.py',
    '../_base_/default_runtime.py', '../_base_/schedules/adam_poly_160k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (128, 256)
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(norm_cfg=norm_cfg),
    decode_head=dict(norm_cfg=norm_cfg))
optim_wrapper = dict(optimizer=dict(lr=3e-3))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=600, by_epoch=False)
]
train_cfg = dict(max_iters=600, val_interval=600)
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=300, max_keep_ckpts=2))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
