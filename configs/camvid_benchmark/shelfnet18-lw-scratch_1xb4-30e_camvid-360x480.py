# ShelfNet18-lw in the CamVid benchmark recipe, trained FROM SCRATCH: the paper starts from
# ImageNet weights of ResNet-18, which cannot be downloaded here, so its CamVid figure is not
# comparable to the paper's. OHEM keeps the official 1/16 of a crop (of 360x480 here).
_base_ = ['../_base_/models/shelfnet-lw_r18.py', '../_base_/camvid_benchmark_recipe.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.camvid_data_preprocessor}},
    backbone=dict(init_cfg=None),
    decode_head=dict(
        num_classes=11, sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=10800)))
