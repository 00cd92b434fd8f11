# ShelfNet50 (PASCAL VOC model): torchvision-layout ResNet-50 C2..C5 + ShelfHead with
# transposed-conv up steps, SE-loss and an FCN auxiliary head on C4 (training only).
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
    min_input_size=32,  # the encoder's output stride
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),  # 1/4 .. 1/32
        dilations=(1, 1, 1, 1),
        strides=(1, 2, 2, 2),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        contract_dilation=False,
        # torchvision's ImageNet release over plain http (no torchvision needed)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet50-19c8e357.pth')),
    decode_head=dict(
        type='ShelfHead',
        in_channels=(256, 512, 1024, 2048),
        in_index=(0, 1, 2, 3),
        channels=64,
        shelf_channels=(64, 128, 256, 512),
        up_mode='deconv',
        num_convs=0,  # the official head is a 1x1 conv (with bias) on the 1/4 level
        seg_kernel_size=1,
        seg_bias=True,
        aux_levels=(),
        sblock_dropout_ratio=0.25,
        dropout_ratio=0.0,
        num_classes=21,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        align_corners=True,
        use_se_loss=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
        loss_se_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.2)),
    auxiliary_head=dict(
        type='FCNHead',
        in_channels=1024,
        in_index=2,
        channels=256,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=21,
        norm_cfg=norm_cfg,
        align_corners=True,
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=0.5)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
