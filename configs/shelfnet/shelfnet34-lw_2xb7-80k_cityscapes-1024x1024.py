# ShelfNet34-lw (the official "non real-time" model): ResNet-34 with the backbone widths as
# shelf widths (no lateral 1x1 convs), 128-wide main classifier, no S-Block dropout; the
# official run used 2 GPUs x 7 images, otherwise the ShelfNet18-lw recipe.
_base_ = './shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'
model = dict(
    backbone=dict(
        depth=34, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet34')),
    decode_head=dict(shelf_channels=None, channels=128, sblock_dropout_ratio=0.0))
train_dataloader = dict(batch_size=7)
