# LRNNet Model C (the paper's model: SVN block with 8x8 and 4x4 region grids); CamVid
# benchmark recipe, from scratch.
_base_ = ['../_base_/models/lrnnet.py', '../_base_/camvid_benchmark_recipe.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.camvid_data_preprocessor}},
    decode_head=dict(grid_sizes=(8, 4), num_classes=11))
