# LRNNet Model A: no SVN block; CamVid benchmark recipe, from scratch.
_base_ = ['../_base_/models/lrnnet.py', '../_base_/camvid_benchmark_recipe.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.camvid_data_preprocessor}},
    decode_head=dict(grid_sizes=(), num_classes=11))
