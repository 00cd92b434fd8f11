# RF-LW-MobileNet-v2 in the CamVid benchmark recipe, trained FROM SCRATCH: the paper starts
# from ImageNet weights, which cannot be downloaded here, so its CamVid figure is not
# comparable to the paper's. The encoder's BN statistics are learned (norm_eval=False): the
# frozen statistics of the pretrained recipe would stay at their initial values.
_base_ = ['../_base_/models/lw-refinenet_mbv2.py', '../_base_/camvid_benchmark_recipe.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
model = dict(
    data_preprocessor={{_base_.camvid_data_preprocessor}},
    backbone=dict(norm_eval=False, init_cfg=None),
    decode_head=dict(num_classes=11))
