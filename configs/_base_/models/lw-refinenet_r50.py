# Light-Weight RefineNet (RF-LW-ResNet-50): the toolbox's ResNet-50 in torchvision's layout
# (style='pytorch', no deep stem, output stride 32) + LightWeightRefineNetHead at 1/4.
# Encoder BN statistics stay frozen (norm_eval=True), as in the official training; with
# frozen statistics SyncBN would do nothing that BN does not, so plain BN is used.
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
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 1, 1),
        style='pytorch',
        norm_cfg=norm_cfg,
        norm_eval=True,
        # torchvision's ImageNet release over plain http (no torchvision needed)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet50-19c8e357.pth')),
    decode_head=dict(
        type='LightWeightRefineNetHead',
        in_channels=[256, 512, 1024, 2048],
        in_index=[0, 1, 2, 3],
        input_transform='multiple_select',
        channels=256,
        # one refinement stage per level, 512 wide at 1/32; two 1x1 convs per input below
        # 1/32; Dropout(0.5) on the 1/16 and 1/32 features
        stage_channels=(256, 256, 256, 512),
        input_convs=(2, 2, 2, 1),
        input_dropout_ratios=(0., 0., 0.5, 0.5),
        crp_stages=4,
        classifier_kernel_size=3,
        dropout_ratio=0.,
        num_classes=21,
        norm_cfg=None,
        act_cfg=dict(type='ReLU'),
        # bilinear upsampling as the official decoder (nn.Upsample(align_corners=True))
        align_corners=True,
        # the official nn.CrossEntropyLoss(ignore_index=255): mean over non-ignored pixels
        loss_decode=dict(
            type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0,
            avg_non_ignore=True)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
