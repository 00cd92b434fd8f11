# LightWeightRefineNetHead on the toolbox's own MobileNetV2 (ImageNet weights), in the
# RF-LW-MobileNet-v2 recipe; the family's model uses MobileNetV2LW, which adds the official
# first-block expansion conv.
_base_ = '../lw_refinenet/lw-refinenet_mbv2_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        widen_factor=1.,
        strides=(1, 2, 2, 2, 1, 2, 1),
        dilations=(1, 1, 1, 1, 1, 1, 1),
        out_indices=(1, 2, 3, 4, 5, 6),
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        norm_eval=True,
        init_cfg=dict(type='Pretrained', checkpoint='mmcls://mobilenet_v2')))
