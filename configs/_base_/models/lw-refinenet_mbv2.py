# Light-Weight RefineNet (RF-LW-MobileNet-v2): MobileNetV2LW (the toolbox's MobileNetV2 plus
# the official 1x1 expansion conv in its first block) + LightWeightRefineNetHead at 1/4.
# Taps: 24 ch at 1/4, 32 at 1/8, 64 and 96 at 1/16, 160 and 320 at 1/32. Encoder BN
# statistics stay frozen (norm_eval=True), so plain BN is used.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='SizeCheckedEncoderDecoder',
    min_input_size=32,  # the encoder's output stride
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='MobileNetV2LW',
        widen_factor=1.,
        first_block_expansion=True,
        strides=(1, 2, 2, 2, 1, 2, 1),
        dilations=(1, 1, 1, 1, 1, 1, 1),
        out_indices=(1, 2, 3, 4, 5, 6),
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        norm_eval=True,
        # ImageNet weights of the toolbox's MobileNetV2 (mmpretrain/mmcls); they have no
        # first-block expansion conv, which therefore starts as an identity.
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')),
    decode_head=dict(
        type='LightWeightRefineNetHead',
        in_channels=[24, 32, 64, 96, 160, 320],
        in_index=[0, 1, 2, 3, 4, 5],
        input_transform='multiple_select',
        channels=256,
        # the 1/16 pair (64 + 96) and the 1/32 pair (160 + 320) are summed in one stage each
        fuse_groups=((0, ), (1, ), (2, 3), (4, 5)),
        stage_channels=None,
        input_convs=1,
        input_dropout_ratios=0.,
        crp_stages=4,
        classifier_kernel_size=3,
        dropout_ratio=0.,
        num_classes=21,
        norm_cfg=None,
        act_cfg=dict(type='ReLU6'),
        # bilinear upsampling as the official decoder (nn.Upsample(align_corners=True))
        align_corners=True,
        # the official nn.CrossEntropyLoss(ignore_index=255): mean over non-ignored pixels
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
