# Synthetic street scenes in the Cityscapes layout (lrseg_mm.datasets.synthetic_streets),
# read by the toolbox's own CityscapesDataset. `make demo` writes them to data_root.
dataset_type = 'CityscapesDataset'
data_root = 'data/synthetic_cityscapes/'
crop_size = (128, 256)
# Training reads every file through loaders that name the file on any fault and check the
# class ids; the test pipeline keeps the toolbox's, which its inferencer finds by name.
train_pipeline = [
    dict(type='StrictLoadImageFromFile'),
    dict(type='StrictLoadAnnotations', num_classes=19),
    dict(type='RandomResize', scale=(256, 128), ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
