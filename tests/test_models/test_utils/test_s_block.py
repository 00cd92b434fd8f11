import pytest
import torch
import torch.nn.functional as F

from lrseg_mm.models.utils import SBlock

from helpers import count_params
from tolerances import assert_within_rounding


@pytest.mark.parametrize('channels, expected', [(64, 37_184), (128, 148_096), (8, 616)])
def test_parameter_count_is_9c2_plus_5c(channels, expected):
    # one 3x3 conv with bias (9C^2 + C) and two BNs (2 x 2C); the figure for C=64
    assert 9 * channels**2 + 5 * channels == expected
    assert count_params(SBlock(channels)) == expected


def test_one_conv_weight_used_twice():
    block = SBlock(8, dropout_ratio=0.0)
    convs = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1
    weights = [n for n, p in block.named_parameters() if p.dim() == 4]
    assert weights == ['conv.weight']
    calls = []
    convs[0].register_forward_hook(lambda *args: calls.append(1))
    block(torch.randn(1, 8, 5, 7))
    assert len(calls) == 2


def test_matches_shared_weight_formula_in_eval():
    torch.manual_seed(0)
    block = SBlock(6, dropout_ratio=0.5, act_cfg=dict(type='LeakyReLU', negative_slope=0.1))
    for norm in (block.norm1, block.norm2):
        norm.running_mean.uniform_(-1, 1)
        norm.running_var.uniform_(0.5, 2)
    block.eval().double()  # float64: only a different dataflow can differ
    x = torch.randn(2, 6, 9, 11, dtype=torch.float64)
    w, b = block.conv.weight, block.conv.bias

    def bn(y, norm):
        return F.batch_norm(y, norm.running_mean, norm.running_var, norm.weight, norm.bias,
                            False, 0.0, norm.eps)

    mid = F.leaky_relu(bn(F.conv2d(x, w, b, padding=1), block.norm1), 0.1)
    expected = F.relu(bn(F.conv2d(mid, w, b, padding=1), block.norm2) + x)
    assert_within_rounding(block(x), expected, depth=6, fan_in=6 * 9)


def test_shared_weight_gradient_sums_both_uses():
    torch.manual_seed(0)
    block = SBlock(4, dropout_ratio=0.0, norm_cfg=None, act_cfg=None,
                   out_act_cfg=None).double()
    x = torch.randn(1, 4, 6, 6, dtype=torch.float64)
    block(x).sum().backward()
    w = block.conv.weight.detach().clone().requires_grad_(True)
    b = block.conv.bias.detach()
    (F.conv2d(F.conv2d(x, w, b, padding=1), w, b, padding=1) + x).sum().backward()
    # the gradient sums over 36 positions of two chained 36-term convs
    assert_within_rounding(block.conv.weight.grad, w.grad, depth=4, fan_in=36 * 36)


def test_shape_kept_and_output_is_relu_even_with_leaky_inner_activation():
    block = SBlock(8, act_cfg=dict(type='LeakyReLU', negative_slope=0.01)).train()
    out = block(torch.randn(2, 8, 7, 13))
    assert out.shape == (2, 8, 7, 13)
    assert (out >= 0).all()


def test_dropout_only_in_training():
    torch.manual_seed(0)
    block = SBlock(16, dropout_ratio=0.5)
    x = torch.randn(2, 16, 8, 8)
    block.eval()
    assert torch.equal(block(x), block(x))
    block.train()
    assert not torch.equal(block(x), block(x))


def test_bad_arguments_and_inputs_are_named():
    with pytest.raises(ValueError, match='dropout_ratio'):
        SBlock(8, dropout_ratio=1.0)
    with pytest.raises(ValueError, match='channels'):
        SBlock(0)
    with pytest.raises(ValueError, match='expects 8 input channels, got 4'):
        SBlock(8)(torch.randn(1, 4, 5, 5))
