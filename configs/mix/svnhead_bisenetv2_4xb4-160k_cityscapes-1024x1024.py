# LRNNet's SVN head on the toolbox's BiSeNetV2 (the aggregated detail/semantic output: 1/8,
# 128 channels), in the toolbox's BiSeNetV2 recipe with its four auxiliary heads.
_base_ = [
    'mmseg::bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py',
    '../_base_/lrseg_engine.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='SVNHead',
        in_channels=128,
        in_index=0,
        channels=128,
        svn_channels=32,
        grid_sizes=(8, 4),
        num_iters=3,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
