# ShelfHead (ShelfNet18-lw settings) on the toolbox's MobileNetV2: its 1/8, 1/16 and 1/32
# outputs (32, 96, 320 channels) are mapped to the 64/128/256 shelf by the lateral convs.
_base_ = './shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 2, 1, 2, 1),
        dilations=(1, 1, 1, 1, 1, 1, 1),
        out_indices=(2, 4, 6),
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')),
    decode_head=dict(in_channels=(32, 96, 320)))
