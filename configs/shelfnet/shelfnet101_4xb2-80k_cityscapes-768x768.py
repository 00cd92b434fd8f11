# ShelfNet101 on Cityscapes fine: ShelfNet50's recipe on a ResNet-101.
_base_ = './shelfnet50_4xb2-80k_cityscapes-768x768.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet101-5d3b4d8f.pth')))
