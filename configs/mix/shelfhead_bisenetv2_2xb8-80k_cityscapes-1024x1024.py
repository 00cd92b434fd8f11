# ShelfHead (ShelfNet18-lw settings) on the semantic branch of the toolbox's BiSeNetV2 (its
# 1/8, 1/16 and 1/32 stages: 32, 64, 128 channels; trained from scratch as the toolbox
# does), in the ShelfNet18-lw recipe.
_base_ = '../shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        _delete_=True,
        type='BiSeNetV2',
        detail_channels=(64, 64, 128),
        semantic_channels=(16, 32, 64, 128),
        semantic_expansion_ratio=6,
        bga_channels=128,
        out_indices=(0, 1, 2, 3, 4),
        init_cfg=None,
        align_corners=False),
    decode_head=dict(in_channels=(32, 64, 128), in_index=(2, 3, 4)))
