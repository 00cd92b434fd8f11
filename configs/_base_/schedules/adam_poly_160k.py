# LEDNet's optimizer, which LRNNet follows where the paper is silent (LEDNet's
# train/main.py): Adam, lr 5e-4, betas (0.9, 0.999), weight decay 1e-4, poly decay 0.9.
# LEDNet steps the poly decay once per epoch; here per iteration over 160k iterations
# (mmseg's iteration-based loop; the LRNNet paper gives no schedule length).
optimizer = dict(type='Adam', lr=5e-4, betas=(0.9, 0.999), weight_decay=1e-4)
optim_wrapper = dict(type='OptimWrapper', optimizer=optimizer, clip_grad=None)
param_scheduler = [
    dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=160000, by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=160000, val_interval=16000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=16000),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    visualization=dict(type='SegVisualizationHook'))
