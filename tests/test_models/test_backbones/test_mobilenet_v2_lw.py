import pytest
import torch
from mmseg.models.backbones import MobileNetV2

from lrseg_mm.models.backbones import MobileNetV2LW

from helpers import count_params
from tolerances import assert_within_rounding

# torchvision's mobilenet_v2 features without the final 320->1280 conv: 2,223,872 - 412,160.
TOOLBOX_PARAMS = 1_811_712
EXPANSION_PARAMS = 32 * 32 + 2 * 32  # 1x1 conv 32->32 without bias + BN(32)


def test_parameter_count():
    # 1,812,800 = the official RF-LW-MobileNet-v2 total 3,284,565 minus its decoder
    # 1,423,360 + 2,305 * 21
    assert count_params(MobileNetV2LW()) == TOOLBOX_PARAMS + EXPANSION_PARAMS == 1_812_800
    assert count_params(MobileNetV2LW(first_block_expansion=False)) == TOOLBOX_PARAMS
    assert count_params(MobileNetV2(out_indices=(6, ))) == TOOLBOX_PARAMS


def test_taps_at_the_official_strides():
    backbone = MobileNetV2LW()
    backbone.eval()  # the toolbox's MobileNetV2.train() does not return the module
    outs = backbone(torch.randn(1, 3, 64, 96))
    assert [tuple(o.shape[1:]) for o in outs] == [
        (24, 16, 24), (32, 8, 12), (64, 4, 6), (96, 4, 6), (160, 2, 3), (320, 2, 3)]


def test_toolbox_checkpoints_fit_and_the_expansion_starts_as_identity(tmp_path):
    # A toolbox MobileNetV2 checkpoint (what mmcls://mobilenet_v2 holds, minus the 1280
    # conv) has every key but the expansion conv's; loaded through the Pretrained init the
    # expansion stays an identity, so with frozen BN statistics the outputs are the toolbox's.
    torch.manual_seed(0)
    toolbox = MobileNetV2(out_indices=(1, 2, 3, 4, 5, 6))
    toolbox.init_weights()
    path = tmp_path / 'mobilenet_v2.pth'
    torch.save(toolbox.state_dict(), path)
    ours = MobileNetV2LW(norm_eval=True,
                         init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    ours.init_weights()
    missing = set(ours.state_dict()) - set(toolbox.state_dict())
    assert missing == {f'layer1_expand.{k}' for k in
                       ('conv.weight', 'bn.weight', 'bn.bias', 'bn.running_mean',
                        'bn.running_var', 'bn.num_batches_tracked')}
    x = torch.randn(2, 3, 64, 64)
    toolbox.eval(), ours.train()  # train mode, but norm_eval keeps BN statistics frozen
    with torch.no_grad():
        for a, b in zip(toolbox(x), ours(x)):
            # an identity expansion conv is exact, but may run other kernels in 17 blocks
            # of up to 960-term sums
            assert_within_rounding(b, a, depth=20, fan_in=960)


def test_default_init_treats_the_expansion_like_every_conv():
    torch.manual_seed(0)
    backbone = MobileNetV2LW()
    backbone.init_weights()
    weight = backbone.layer1_expand.conv.weight.flatten(1)
    assert not torch.equal(weight, torch.eye(32))  # Kaiming, not the identity


def test_expansion_changes_the_function():
    torch.manual_seed(0)
    backbone = MobileNetV2LW()
    backbone.init_weights()
    backbone.eval()
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        with_expansion = backbone(x)[0]
        backbone.layer1_expand = None
        without = backbone(x)[0]
    assert not torch.allclose(with_expansion, without)


def test_frozen_stages_cover_the_expansion():
    backbone = MobileNetV2LW(frozen_stages=1)
    backbone.train()
    assert not any(p.requires_grad for p in backbone.layer1_expand.parameters())
    assert not backbone.layer1_expand.training
    assert all(p.requires_grad for p in backbone.layer2.parameters())


def test_rejects_a_residual_first_block():
    # widen 0.25: the stem and the first block both have 8 channels, so the block adds its
    # input back and the expansion could no longer sit outside it
    with pytest.raises(ValueError, match='first_block_expansion'):
        MobileNetV2LW(widen_factor=0.25)
    MobileNetV2LW(widen_factor=0.25, first_block_expansion=False)
