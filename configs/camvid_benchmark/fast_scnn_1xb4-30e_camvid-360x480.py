# The toolbox's Fast-SCNN (mmseg's model settings, both auxiliary heads) in the CamVid
# benchmark recipe, from scratch. The auxiliary heads are restated to set their classes
# (with the sigmoid cross-entropy mmseg ships for Fast-SCNN).
_base_ = ['mmseg::_base_/models/fast_scnn.py', '../_base_/camvid_benchmark_recipe.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.01)
model = dict(
    data_preprocessor={{_base_.camvid_data_preprocessor}},
    decode_head=dict(num_classes=11),
    auxiliary_head=[
        dict(
            type='FCNHead',
            in_channels=128,
            channels=32,
            num_convs=1,
            num_classes=11,
            in_index=-2,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.4)),
        dict(
            type='FCNHead',
            in_channels=64,
            channels=32,
            num_convs=1,
            num_classes=11,
            in_index=-3,
            norm_cfg=norm_cfg,
            concat_input=False,
            align_corners=False,
            loss_decode=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.4)),
    ],
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
