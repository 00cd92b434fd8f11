# LRNNet (Model C): LRNNet encoder + SVN head with 8x8 and 4x4 region grids.
norm_cfg = dict(type='SyncBN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='SizeCheckedEncoderDecoder',
    min_input_size=8,  # the encoder's output stride (three stride-2 stages)
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='LRNNet',
        in_channels=3,
        stage_channels=(32, 64, 128),
        dilations=((1, 1, 1), (1, 1), (1, 2, 5, 9, 2, 5, 9, 17)),
        drop_rates=(0.03, 0.03, 0.3),
        out_indices=(0, 1, 2),
        norm_cfg=norm_cfg),
    decode_head=dict(
        type='SVNHead',
        in_channels=128,
        in_index=2,
        channels=32,
        svn_channels=32,
        grid_sizes=(8, 4),
        num_iters=3,
        dropout_ratio=0.1,
        num_classes=19,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
