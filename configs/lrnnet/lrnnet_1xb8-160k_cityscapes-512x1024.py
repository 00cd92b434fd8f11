# LRNNet (Model C) on Cityscapes fine, 512x1024 crops, trained from scratch (the paper).
_base_ = [
    '../_base_/models/lrnnet.py', 'mmseg::_base_/datasets/cityscapes.py',
    '../_base_/default_runtime.py', '../_base_/schedules/adam_poly_160k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
# LEDNet (train/main.py) trained on whole images downscaled to 512x1024 with batch 5 and a
# class-weighted loss in two stages (encoder, then all); here: the toolbox's Cityscapes
# pipeline (rescale 0.5-2.0, 512x1024 crops), batch 8, unweighted cross-entropy, one stage
# from scratch as the LRNNet paper describes. Only the optimizer is LEDNet's
# (adam_poly_160k.py); configs/lrnnet/README.md lists each difference with its reason.
train_dataloader = dict(batch_size=8, num_workers=4)
