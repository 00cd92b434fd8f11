# LightWeightRefineNetHead on the semantic branch of the toolbox's BiSeNetV2 (its 1/4 .. 1/32
# stages: 16, 32, 64, 128 channels; trained from scratch as the toolbox does), in the RF-LW
# recipe with one refinement stage per level.
_base_ = '../lw_refinenet/lw-refinenet_mbv2_4xb2-80k_cityscapes-512x1024.py'
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
    decode_head=dict(
        in_channels=[16, 32, 64, 128],
        in_index=[1, 2, 3, 4],
        fuse_groups=None,
        act_cfg=dict(type='ReLU')))
