# ShelfHead on the toolbox's MobileNetV3-Large (ImageNet weights), in the ShelfNet18-lw
# recipe. The toolbox's MobileNetV3 keeps output stride 8 (its last stages are dilated), so
# the shelf has two levels: 1/4 (24 channels) and 1/8 (960), with one auxiliary output.
_base_ = '../shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', eps=0.001, requires_grad=True)
model = dict(
    min_input_size=8,  # output stride 8
    backbone=dict(
        _delete_=True,
        type='MobileNetV3',
        arch='large',
        out_indices=(3, 16),
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained',
                      checkpoint='open-mmlab://contrib/mobilenet_v3_large')),
    decode_head=dict(
        in_channels=(24, 960),
        in_index=(0, 1),
        shelf_channels=(64, 128),
        aux_levels=(1, )))
