# RF-LW-ResNet-101 on Cityscapes fine: the ResNet-50 recipe on a ResNet-101.
_base_ = './lw-refinenet_r50_4xb2-80k_cityscapes-512x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet101-5d3b4d8f.pth')))
