# The toolbox's ASPPHead (DeepLabV3) on the LRNNet encoder (1/8, 128 channels), in LRNNet's
# recipe: from scratch, Adam, poly decay, 160k iterations. Dilations (1, 12, 24, 36) as the
# toolbox uses at output stride 8.
_base_ = '../lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    decode_head=dict(
        _delete_=True,
        type='ASPPHead',
        in_channels=128,
        in_index=2,
        channels=128,
        dilations=(1, 12, 24, 36),
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)))
