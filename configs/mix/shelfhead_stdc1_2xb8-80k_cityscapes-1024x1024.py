# ShelfHead (ShelfNet18-lw settings) on the toolbox's STDC1 network (its 1/8, 1/16 and 1/32
# stages: 256, 512, 1024 channels; STDC's ImageNet weights), in the ShelfNet18-lw recipe.
_base_ = '../shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
checkpoint = 'https://download.openmmlab.com/mmsegmentation/v0.5/pretrain/stdc/stdc1_20220308-5368626c.pth'  # noqa
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='STDCNet',
        stdc_type='STDCNet1',
        in_channels=3,
        channels=(32, 64, 256, 512, 1024),
        bottleneck_type='cat',
        num_convs=4,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        with_final_conv=False,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint)),
    decode_head=dict(in_channels=(256, 512, 1024), in_index=(0, 1, 2)))
