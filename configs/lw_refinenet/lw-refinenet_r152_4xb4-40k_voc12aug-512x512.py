# RF-LW-ResNet-152 on PASCAL VOC 2012 aug: the ResNet-50 recipe on a ResNet-152.
_base_ = './lw-refinenet_r50_4xb4-40k_voc12aug-512x512.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(
        depth=152,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet152-b121ed2d.pth')))
