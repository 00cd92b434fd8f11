# LRNNet (Model C) on CamVid (SegNet split, 11 classes), 360x480, trained from scratch.
_base_ = [
    '../_base_/models/lrnnet.py', '../_base_/datasets/camvid.py',
    '../_base_/default_runtime.py', '../_base_/schedules/adam_poly_160k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (360, 480)
data_preprocessor = dict(size=crop_size)
# No dropout on CamVid: LEDNet's rates (encoder 0.03, 0.03, 0.3; head 0.1) slow training down
# so much that they cost 12.7 val mIoU at 5 epochs (configs/lrnnet/README.md, CamVid
# ablations); dropout has no weights, so checkpoints load either way.
model = dict(
    data_preprocessor=data_preprocessor,
    backbone=dict(drop_rates=(0., 0., 0.)),
    decode_head=dict(num_classes=11, dropout_ratio=0.))
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=40000, by_epoch=False)
]
train_cfg = dict(max_iters=40000, val_interval=4000)
default_hooks = dict(checkpoint=dict(interval=4000))
