# ShelfHead (ShelfNet18-lw settings) on the toolbox's ResNetV1c-18 (deep stem, ImageNet
# weights), in the ShelfNet18-lw recipe: its 1/8, 1/16 and 1/32 stages feed the shelf.
_base_ = '../shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(1, 2, 3),
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet18_v1c')),
    decode_head=dict(in_channels=(128, 256, 512), in_index=(0, 1, 2)))
