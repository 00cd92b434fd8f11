# The toolbox's CGNet (mmseg's model settings) in the CamVid benchmark recipe, from scratch.
# Its Cityscapes class weights (19 classes) are dropped: no model of the benchmark uses class
# weights. The recipe's normalisation replaces CGNet's own mean/std, as for every model.
_base_ = ['mmseg::_base_/models/cgnet.py', '../_base_/camvid_benchmark_recipe.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.camvid_data_preprocessor}},
    decode_head=dict(num_classes=11, loss_decode=dict(class_weight=None)))
