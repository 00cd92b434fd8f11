import pytest
import torch

from lrseg_mm.models.backbones import LRNNet
from lrseg_mm.models.backbones.lrnnet import FactorizedConvBlock

from helpers import count_params


def fcb_params(c):
    """FCB by hand: 4 one-dimensional convs (c/2 -> c/2, k=3) each with BN(c/2); depthwise
    3x3 (9c, no bias); pointwise 1x1 (c^2) with BN(c)."""
    half = c // 2
    return 4 * (3 * half * half + 2 * half) + 9 * c + c * c + 2 * c


def down_params(cin, cout):
    """Downsampler by hand: 3x3 conv cin -> cout - cin (no bias) and BN(cout)."""
    return 9 * cin * (cout - cin) + 2 * cout


def test_parameter_count_matches_hand_derivation():
    expected = (down_params(3, 32) + 3 * fcb_params(32) + down_params(32, 64) +
                2 * fcb_params(64) + down_params(64, 128) + 8 * fcb_params(128))
    assert count_params(LRNNet()) == expected == 635_375


def test_strides_and_channels():
    outs = LRNNet().eval()(torch.randn(1, 3, 64, 96))
    assert [tuple(o.shape[1:]) for o in outs] == [(32, 32, 48), (64, 16, 24), (128, 8, 12)]


def test_odd_input_uses_ceil_division():
    outs = LRNNet(out_indices=(2, )).eval()(torch.randn(1, 3, 361, 481))
    assert outs[0].shape[-2:] == (46, 61)


def test_fcb_depthwise_dilation_and_residual():
    block = FactorizedConvBlock(8, dilation=5)
    assert block.depthwise.dilation == (5, 5) and block.depthwise.groups == 8
    x = torch.randn(1, 8, 12, 12)
    assert block.eval()(x).shape == x.shape


@pytest.mark.parametrize('kwargs, match', [
    (dict(drop_rates=(0.1, )), 'one entry per stage'),
    (dict(out_indices=(3, )), 'out_indices'),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LRNNet(**kwargs)


def test_odd_channels_rejected():
    with pytest.raises(ValueError, match='even channel count'):
        FactorizedConvBlock(7)


def test_pair_branch_norm_normalises_once_per_factorized_pair():
    """ERFNet/LEDNet placement: per FCB the two first convs lose BN(c/2) (2 x c/2 params
    each) and gain a bias (c/2 each): c parameters fewer per block."""
    c = 32
    each, pair = FactorizedConvBlock(c), FactorizedConvBlock(c, branch_norm='pair')
    assert count_params(each) - count_params(pair) == c == 32
    for branch in (pair.branch_3x1_1x3, pair.branch_1x3_3x1):
        assert not branch[0].with_norm and branch[0].conv.bias is not None
        assert branch[0].activate is not None and branch[1].with_norm
    blocks = 3 * 32 + 2 * 64 + 8 * 128  # sum of c over LRNNet's 13 FCBs
    assert count_params(LRNNet(fcb_branch_norm='pair')) == 635_375 - blocks == 634_127
    x = torch.randn(1, c, 12, 16)
    assert pair.eval()(x).shape == x.shape


def test_unknown_branch_norm_is_named():
    with pytest.raises(ValueError, match="branch_norm must be one of each, pair, got 'none'"):
        LRNNet(fcb_branch_norm='none')
