"""lrseg_mm.utils.fuse: eval-mode conv-BN folding gives the same outputs."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from lrseg_mm.models.backbones import LRNNet
from lrseg_mm.utils import fuse_conv_bn, fuse_conv_bn_pair

from helpers import count_bn, randomise_bn
from tolerances import assert_within_rounding



def test_lrnnet_fused_equals_unfused():
    # float64, so the comparison sees the algebra and not float32 rounding.
    model = randomise_bn(LRNNet()).double().eval()
    x = torch.randn(1, 3, 64, 96, dtype=torch.float64)
    with torch.no_grad():
        before = model(x)
        folded = fuse_conv_bn(model)
        after = model(x)
    # 13 FCBs x (4 branch ConvModules + pointwise ConvModule) = 65 BNs folded; the three
    # DownsamplerBlock BNs normalise cat(conv, pool) and stay.
    assert folded == 13 * 5 == 65
    assert count_bn(model) == 3
    for a, b in zip(before, after):
        # float64: folding reorders one scale-and-shift per conv; 13 FCBs of up to 128 x 9
        assert_within_rounding(b, a, depth=3 * 13 * 5, fan_in=128 * 9)


def test_bn_after_concatenation_is_not_folded_into_the_conv():
    # mmcv's fuse_conv_bn pairs the BN with the conv registered before it and fails here.
    from lrseg_mm.models.backbones.lrnnet import DownsamplerBlock
    block = randomise_bn(DownsamplerBlock(3, 16)).eval()
    assert fuse_conv_bn(block) == 0
    assert isinstance(block.bn, nn.BatchNorm2d)


def test_sequential_and_conv_module_with_bias():
    model = nn.Sequential(nn.Conv2d(4, 6, 3, padding=1, bias=True), nn.BatchNorm2d(6),
                          nn.ReLU(), ConvModule(6, 5, 1, norm_cfg=dict(type='BN')))
    randomise_bn(model).eval()
    x = torch.randn(2, 4, 9, 7)
    with torch.no_grad():
        before = model(x)
        assert fuse_conv_bn(model) == 2
        after = model(x)
    assert isinstance(model[1], nn.Identity) and model[3].conv.bias is not None
    # float32 both ways: folding reorders one scale-and-shift per output (3x3 x 4, 1x1 x 6)
    assert_within_rounding(after, before, depth=4, fan_in=4 * 9)


def test_toolbox_resnet_block():
    # (the toolbox's ERFNet and CGNet blocks: tests/test_benchmarks/test_peers.py)
    from mmseg.models.backbones.resnet import BasicBlock
    for block, channels in ((BasicBlock(8, 8), 8), ):
        randomise_bn(block).eval()
        x = torch.randn(1, channels, 12, 12)
        with torch.no_grad():
            before = block(x)
            assert fuse_conv_bn(block) > 0
            after = block(x)
        assert_within_rounding(after, before, depth=6, fan_in=channels * 9)


def test_extra_fusers_are_called_on_every_module():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), nn.BatchNorm2d(4)).eval()
    seen = []
    assert fuse_conv_bn(model, extra_fusers=[lambda m: seen.append(type(m)) or 0]) == 0
    assert seen == [nn.Sequential, nn.Conv2d, nn.ReLU, nn.BatchNorm2d]
    assert isinstance(model[2], nn.BatchNorm2d)  # not after its conv: left alone


def test_training_mode_and_mismatched_pairs_are_refused():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    with pytest.raises(ValueError, match='eval mode'):
        fuse_conv_bn(model.train())
    with pytest.raises(ValueError, match='cannot fuse'):
        fuse_conv_bn_pair(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(5).eval())
