# RF-LW-ResNet-101 on PASCAL VOC 2012 aug: the ResNet-50 recipe on a ResNet-101.
_base_ = './lw-refinenet_r50_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet101-5d3b4d8f.pth')))
