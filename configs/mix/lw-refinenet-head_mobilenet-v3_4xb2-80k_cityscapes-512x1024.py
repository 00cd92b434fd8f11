# LightWeightRefineNetHead on the toolbox's MobileNetV3-Large (ImageNet weights; output
# stride 8, its last stages dilated), in the RF-LW recipe. Taps: 24 channels at 1/4, 40 and
# 960 at 1/8; the two 1/8 taps are summed in one stage, as RF-LW-MobileNet-v2 does.
_base_ = '../lw_refinenet/lw-refinenet_mbv2_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='BN', eps=0.001, requires_grad=True)
model = dict(
    min_input_size=8,  # output stride 8
    backbone=dict(
        _delete_=True,
        type='MobileNetV3',
        arch='large',
        out_indices=(3, 6, 16),
        norm_cfg=norm_cfg,
        norm_eval=True,
        init_cfg=dict(type='Pretrained',
                      checkpoint='open-mmlab://contrib/mobilenet_v3_large')),
    decode_head=dict(
        in_channels=[24, 40, 960],
        in_index=[0, 1, 2],
        fuse_groups=((0, ), (1, 2)),
        act_cfg=dict(type='ReLU')))
