# ShelfNet34-lw (the official "non real-time" model): ResNet-34 with the backbone widths as
# shelf widths (no lateral 1x1 convs), 128-wide main classifier, no S-Block dropout; the
# official run used 2 GPUs x 7 images, otherwise the ShelfNet18-lw recipe.
_base_ = './shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'
model = dict(
    backbone=dict(
        depth=34,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='https://download.pytorch.org/models/resnet34-333f7ec4.pth')),
    decode_head=dict(shelf_channels=None, channels=128, sblock_dropout_ratio=0.0),
    test_cfg=dict(mode='slide', crop_size=(1024, 1024), stride=(854, 854)))
train_dataloader = dict(batch_size=7)
# The official evaluation of the 79.0 test result (ShelfNet34_non_realtime/evaluate.py):
# scales 0.75..2.0, each with a horizontal flip, softmax averaged, every scale in 1024x1024
# windows at stride ceil(1024 * 5 / 6) = 854 (test_cfg above). Single scale: tools/test.py;
# multi-scale and flip: tools/test.py --tta (the toolbox's SegTTAModel averages the softmax
# too).
img_ratios = [0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
tta_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(
        type='TestTimeAug',
        transforms=[[dict(type='Resize', scale_factor=r, keep_ratio=True) for r in img_ratios],
                    [
                        dict(type='RandomFlip', prob=0., direction='horizontal'),
                        dict(type='RandomFlip', prob=1., direction='horizontal')
                    ], [dict(type='LoadAnnotations')], [dict(type='PackSegInputs')]])
]
