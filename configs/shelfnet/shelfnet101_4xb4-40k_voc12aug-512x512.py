# ShelfNet101 on PASCAL VOC 2012 aug: ShelfNet50's recipe on a ResNet-101.
_base_ = './shelfnet50_4xb4-40k_voc12aug-512x512.py'
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet101-5d3b4d8f.pth')))
