"""lrseg_mm.utils.fuse: eval-mode conv-BN folding gives the same outputs."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule

from lrseg_mm.models.backbones import LRNNet
from lrseg_mm.utils import fuse_conv_bn, fuse_conv_bn_pair


def randomise_bn(model):
    """Non-trivial running statistics and affine parameters, so folding is exercised."""
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return model


def count_bn(model):
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())


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
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9)


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
    torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-6)


def test_toolbox_resnet_and_cgnet_blocks():
    from mmseg.models.backbones.cgnet import ContextGuidedBlock
    from mmseg.models.backbones.resnet import BasicBlock
    for block, channels in ((BasicBlock(8, 8), 8), (ContextGuidedBlock(32, 32), 32)):
        randomise_bn(block).eval()
        x = torch.randn(1, channels, 12, 12)
        with torch.no_grad():
            before = block(x)
            assert fuse_conv_bn(block) > 0
            after = block(x)
        torch.testing.assert_close(after, before, rtol=1e-5, atol=1e-5)


def test_training_mode_and_mismatched_pairs_are_refused():
    model = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4))
    with pytest.raises(ValueError, match='eval mode'):
        fuse_conv_bn(model.train())
    with pytest.raises(ValueError, match='cannot fuse'):
        fuse_conv_bn_pair(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(5).eval())
