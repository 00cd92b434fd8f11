# LRNNet's SVN head on the toolbox's MobileNetV3-Large (output stride 8, 960 channels), in
# the toolbox's LR-ASPP recipe: ImageNet weights, SGD, batch 4 per GPU. (The toolbox names
# that config 320k, but its train_cfg runs schedule_160k's 160k iterations.)
_base_ = [
    'mmseg::mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py',
    '../_base_/lrseg_engine.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', eps=0.001, requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='SVNHead',
        in_channels=960,
        in_index=2,
        channels=128,
        svn_channels=32,
        grid_sizes=(8, 4),
        num_iters=3,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
