# The toolbox's BiSeNetV2 (mmseg's model settings, its four auxiliary heads) in the CamVid
# benchmark recipe, from scratch (as in mmseg's Cityscapes recipe). The auxiliary heads are
# restated to set their classes.
_base_ = ['mmseg::_base_/models/bisenetv2.py', '../_base_/camvid_benchmark_recipe.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor={{_base_.camvid_data_preprocessor}},
    decode_head=dict(num_classes=11),
    auxiliary_head=[
        dict(
            type='FCNHead',
            in_channels=in_channels,
            channels=channels,
            num_convs=2,
            num_classes=11,
            in_index=in_index,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0))
        for in_index, in_channels, channels in ((1, 16, 16), (2, 32, 64), (3, 64, 256),
                                                (4, 128, 1024))
    ])
