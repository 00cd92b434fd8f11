# The toolbox's ERFNet (mmseg's model settings) in the CamVid benchmark recipe, from scratch.
_base_ = ['mmseg::_base_/models/erfnet_fcn.py', '../_base_/camvid_benchmark_recipe.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.camvid_data_preprocessor}},
    decode_head=dict(num_classes=11))
