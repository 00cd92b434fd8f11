# ShelfNet18-lw (real-time): ShelfNetResNet-18 (torchvision layout) + ShelfHead with ARM up
# steps. The official model uses InPlace-ABN (BN + LeakyReLU 0.01, or no activation where it
# says activation='none'); here that is BN + act_cfg, placed where the official code has it.
norm_cfg = dict(type='SyncBN', requires_grad=True)
act_cfg = dict(type='LeakyReLU', negative_slope=0.01)
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
        # torchvision-layout ResNet-18 with the official activations: LeakyReLU(0.01)
        # where InPlace-ABN activates (stem, first norm of every block), ReLU after the sums
        type='ShelfNetResNet',
        depth=18,
        out_indices=(1, 2, 3),  # 1/8, 1/16, 1/32
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        norm_eval=False,
        # the torchvision ImageNet release the official code loads (plain http, no
        # torchvision needed)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet18-5c106cde.pth')),
    decode_head=dict(
        type='ShelfHead',
        in_channels=(128, 256, 512),
        in_index=(0, 1, 2),
        channels=64,
        shelf_channels=(64, 128, 256),
        up_mode='arm',
        num_convs=1,
        seg_kernel_size=3,
        seg_bias=False,
        aux_levels=(1, 2),  # 1/16 and 1/32 outputs of the ladder, training only
        aux_channels=64,
        aux_loss_weight=1.0,
        sblock_dropout_ratio=0.1,
        dropout_ratio=0.0,
        num_classes=19,
        norm_cfg=norm_cfg,
        act_cfg=act_cfg,
        align_corners=True,
        # OHEM as the official OhemCELoss: pixels with p(gt) < 0.7, at least 1/16 of a
        # 1024x1024 crop per image; applied to the main and both auxiliary outputs.
        sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=65536),
        loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
