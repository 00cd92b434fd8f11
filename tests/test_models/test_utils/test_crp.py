import pytest
import torch
import torch.nn.functional as F

from lrseg_mm.models.utils import ChainedResidualPooling

from helpers import count_params
from tolerances import assert_within_rounding


def test_parameter_count():
    # 4 bias-free 1x1 convs of 256 -> 256: 4 * 256 * 256 (the CRP(256) figure)
    assert count_params(ChainedResidualPooling(256)) == 262_144
    # the 1/32 block of the ResNet models: 4 * 512 * 512
    assert count_params(ChainedResidualPooling(512)) == 1_048_576
    assert count_params(ChainedResidualPooling(8, num_stages=2)) == 2 * 8 * 8


def test_matches_the_chained_formula():
    torch.manual_seed(0)
    block = ChainedResidualPooling(6, num_stages=3).eval().double()
    x = torch.randn(2, 6, 9, 7, dtype=torch.float64)
    top, expected = x, x
    for conv in block.convs:
        top = F.conv2d(F.max_pool2d(top, 5, stride=1, padding=2), conv.conv.weight)
        expected = expected + top
    out = block(x)
    assert out.shape == x.shape
    assert_within_rounding(out, expected, depth=6, fan_in=6)


def test_each_stage_pools_the_previous_stage():
    # Identity 1x1 convs on a unit spike: stage k adds a box of side 1 + 4k (4 stages:
    # 5, 9, 13, 17), so the centre sums to 1 + 4 and a pixel 6 away only sees the 13 and 17
    # boxes. Pooling the input itself in every stage would give 5x5 boxes only.
    block = ChainedResidualPooling(1).eval()
    with torch.no_grad():
        for conv in block.convs:
            conv.conv.weight.fill_(1.)
    x = torch.zeros(1, 1, 21, 21)
    x[0, 0, 10, 10] = 1.
    out = block(x)[0, 0]
    assert out[10, 10] == 5
    assert out[10, 12] == 4  # inside every box
    assert out[10, 16] == 2  # only the 13x13 and 17x17 boxes
    assert out[10, 18] == 1  # only the 17x17 box
    assert out[10, 19] == 0


def test_no_activation_inside():
    # a linear-in-x block (max-pool and convs are positively homogeneous): scaling the input
    # by 100 scales the output by 100; a ReLU6 inside would clip it
    torch.manual_seed(0)
    block = ChainedResidualPooling(4).eval()
    x = torch.rand(1, 4, 8, 8)
    # float32 both ways: the two sides differ by rounding of 4 stages of 4-term sums only
    assert_within_rounding(block(100 * x), 100 * block(x), depth=8, fan_in=4)


@pytest.mark.parametrize('kwargs, match', [(dict(num_stages=0), 'num_stages'),
                                           (dict(pool_kernel_size=4), 'pool_kernel_size')])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ChainedResidualPooling(8, **kwargs)
