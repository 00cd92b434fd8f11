# LRNNet's SVN head on the toolbox's MobileNetV2 (dilated to output stride 8, last stage's
# 320 channels), in the toolbox's MobileNetV2 recipe: ImageNet weights, SGD, 80k iterations.
_base_ = [
    'mmseg::mobilenet_v2/mobilenet-v2-d8_fcn_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/lrseg_engine.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='SVNHead',
        in_channels=320,
        in_index=3,
        channels=128,
        svn_channels=32,
        grid_sizes=(8, 4),
        num_iters=3,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
