# The toolbox's FCNHead on our MobileNetV2LW (MobileNetV2 with RF-LW's first-block expansion
# conv), dilated to output stride 8 as the toolbox's MobileNetV2 FCN, in that recipe.
_base_ = [
    'mmseg::mobilenet_v2/mobilenet-v2-d8_fcn_4xb2-80k_cityscapes-512x1024.py',
    '../_base_/lrseg_engine.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='MobileNetV2LW', first_block_expansion=True))
