# LRNNet (Model C) on Cityscapes fine, 512x1024 crops, trained from scratch (the paper).
_base_ = [
    '../_base_/models/lrnnet.py', 'mmseg::_base_/datasets/cityscapes.py',
    'mmseg::_base_/default_runtime.py', '../_base_/schedules/adam_poly_160k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (512, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)
train_dataloader = dict(batch_size=8, num_workers=4)
