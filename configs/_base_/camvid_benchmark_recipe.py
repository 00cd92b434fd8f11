# The shared recipe of the CamVid benchmark (`python -m benchmarks.camvid`,
# configs/camvid_benchmark):
# every model of the benchmark trains from scratch on CamVid train (367 frames, SegNet split,
# 11 classes) with this data pipeline, optimizer, schedule, batch and number of iterations,
# and is evaluated on CamVid val (101 frames). The test split is not used, so nothing is tuned
# to it.
#
# Budget: 30 epochs of CamVid train at batch 4 = ceil(30 * 367 / 4) = 2753 iterations on
# 360x480 crops (random resize 0.5-2.0 of the 360x480 frame, random crop, flip, photometric
# distortion: the pipeline of ./datasets/camvid.py). benchmarks.camvid sets max_iters, the
# PolyLR end and the batch for other budgets (--epochs, --batch-size).
_base_ = ['./datasets/camvid.py', './default_runtime.py']

# Model configs take it as `data_preprocessor={{_base_.camvid_data_preprocessor}}`: the
# model bases define `data_preprocessor` themselves (or not at all), so it cannot live here
# under that name (mmengine refuses duplicate keys among bases).
camvid_data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255,
    size=(360, 480))
train_dataloader = dict(batch_size=4, num_workers=2)
val_dataloader = dict(num_workers=1)
# The CamVid test split is deliberately not used: testing a checkpoint evaluates on val.
test_dataloader = dict(
    num_workers=1, dataset=dict(data_prefix=dict(img_path='val', seg_map_path='valannot')))

# Adam with poly decay (LEDNet's and CGNet's optimizer family), one learning rate for every
# model; no class weights, no auxiliary-loss changes: each model keeps its configured losses.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='Adam', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=2753, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=2753, val_interval=2753)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # about every 15 minutes of CPU training; benchmarks.camvid sets it per model from
    # its measured seconds per iteration
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=900, max_keep_ckpts=2),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
