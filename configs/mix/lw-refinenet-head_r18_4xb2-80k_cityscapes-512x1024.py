# LightWeightRefineNetHead on the toolbox's ResNetV1c-18 (deep stem, ImageNet weights), in
# the RF-LW recipe: one refinement stage per ResNet stage (1/4 .. 1/32), as RF-LW-ResNet.
_base_ = '../lw_refinenet/lw-refinenet_mbv2_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNetV1c',
        depth=18,
        num_stages=4,
        out_indices=(0, 1, 2, 3),
        strides=(1, 2, 2, 2),
        dilations=(1, 1, 1, 1),
        norm_cfg=norm_cfg,
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://resnet18_v1c')),
    decode_head=dict(
        in_channels=[64, 128, 256, 512],
        in_index=[0, 1, 2, 3],
        fuse_groups=None,
        act_cfg=dict(type='ReLU')))
