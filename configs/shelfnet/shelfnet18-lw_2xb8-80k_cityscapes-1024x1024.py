# ShelfNet18-lw (real-time) on Cityscapes fine: the official recipe (2 GPUs x 8 images,
# 1024x1024 crops, SGD 0.01 / momentum 0.9 / wd 5e-4, head lr x10, warm-up then poly 0.9,
# 80k iterations, OHEM cross-entropy averaged over the kept pixels on the main and both
# auxiliary outputs, ColorJitter 0.5).
_base_ = [
    '../_base_/models/shelfnet-lw_r18.py', 'mmseg::_base_/datasets/cityscapes_1024x1024.py',
    '../_base_/default_runtime.py', 'mmseg::_base_/schedules/schedule_80k.py'
]
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
crop_size = (1024, 1024)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor,
    # The official OhemCELoss averages over the pixels it keeps; mmseg's cross-entropy would
    # divide the OHEM-weighted sum by all pixels. The sampler (OHEMPixelSampler, from the
    # base model) picks the pixels, this loss averages over them.
    decode_head=dict(loss_decode=dict(type='KeptPixelsCrossEntropyLoss', loss_weight=1.0)),
    # official evaluation: the 1024x2048 image as two 1024x1024 windows, single scale
    test_cfg=dict(mode='slide', crop_size=(1024, 1024), stride=(1024, 1024)))
# The official augmentation (ShelfNet18_realtime/cityscapes.py with BiSeNet's transforms):
# ColorJitter(brightness, contrast, saturation 0.5) on the whole image first (the contrast
# step blends towards the whole image's mean grey), then a horizontal flip, a scale drawn
# from {0.75, 1, 1.25, 1.5, 1.75, 2} of the 1024x2048 image and a random 1024x1024 crop that
# first resizes an image smaller than the crop up to it (so 0.75 acts as 1.0: crops are
# never below 1.0x, hence 1.0 twice below). The jitter comes first here too; the flip,
# which commutes with scale and crop, comes last as usual in the toolbox.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='ColorJitter', brightness=0.5, contrast=0.5, saturation=0.5),
    dict(
        type='RandomChoiceResize',
        scales=[(2048, 1024), (2048, 1024), (2560, 1280), (3072, 1536), (3584, 1792),
                (4096, 2048)],
        resize_type='Resize',
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs')
]
train_dataloader = dict(batch_size=8, num_workers=4, dataset=dict(pipeline=train_pipeline))
optimizer = dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)
# Official optimizer (BiSeNet's optimizer.py with ShelfNet's get_params): weight decay on
# conv/linear weights only (norm parameters and biases get none) and lr x10 on the whole
# head (decoder, ladder, laterals, classifiers). mmengine's custom_keys would switch the
# norm/bias rules off inside decode_head; our constructor applies both.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=optimizer,
    clip_grad=None,
    constructor='NormBiasDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        custom_keys={'decode_head': dict(lr_mult=10.)}, norm_decay_mult=0.,
        bias_decay_mult=0.))
# Official schedule, lr at iteration it (0-based): 1e-5 * 1000 ** (it / 1000) for it <= 1000
# (exponential warm-up up to 1e-2), then 1e-2 * (1 - (it - 1000) / 79000) ** 0.9. mmengine's
# schedulers chain multiplicatively: LinearLR with equal start and end factors scales the lr
# by 1e-3 from iteration 0 on, ExponentialLR multiplies it by 1000 ** (1 / 1000) at
# iterations 1..1000, PolyLR takes over from 1e-2 at iteration 1000 (T = 80001 - 1000 - 1 =
# 79000 steps to 0, as in the official formula).
warmup_iters = 1000
warmup_start_factor = 1e-5 / 1e-2
param_scheduler = [
    dict(type='LinearLR', start_factor=warmup_start_factor, end_factor=warmup_start_factor,
         by_epoch=False, begin=0, end=1),
    dict(type='ExponentialLR', gamma=(1 / warmup_start_factor)**(1 / warmup_iters),
         by_epoch=False, begin=0, end=warmup_iters + 1),
    dict(type='PolyLR', eta_min=0, power=0.9, by_epoch=False, begin=warmup_iters,
         end=80001)
]
