"""LRNNet's inference-only fast paths compute what the plain layers compute."""
import torch
import torch.nn as nn

from lrseg_mm.models.backbones import LRNNet
from lrseg_mm.models.backbones.lrnnet import FactorizedConvBlock, _max_pool_2x2

from tolerances import assert_within_rounding


def test_strided_max_equals_the_pool_layer_nan_and_ties_included():
    pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)
    x = torch.randn(1, 3, 6, 8).relu()  # many tied zeros
    x[0, 0, 0, 0] = float('nan')
    with torch.no_grad():
        # a max selects one of the inputs: exact, no rounding
        torch.testing.assert_close(_max_pool_2x2(x, pool), pool(x), equal_nan=True, rtol=0,
                                   atol=0)
        odd = torch.randn(1, 3, 5, 7)
        assert torch.equal(_max_pool_2x2(odd, pool), pool(odd))  # falls back to the layer


def test_pool_gradient_goes_to_one_of_tied_elements():
    x = torch.zeros(1, 1, 2, 2, requires_grad=True)
    _max_pool_2x2(x, nn.MaxPool2d(2, stride=2, ceil_mode=True)).sum().backward()
    assert x.grad.sum() == 1 and x.grad.max() == 1  # not split 4 x 0.25


def test_explicitly_padded_depthwise_equals_the_conv():
    block = FactorizedConvBlock(8, dilation=9).eval()
    x = torch.randn(1, 8, 20, 24).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        assert torch.equal(block._depthwise(x), block.depthwise(x))


def test_inplace_inference_path_equals_autograd_path():
    model = LRNNet(dilations=((1, ), (1, ), (1, 9)), out_indices=(2, )).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        fast = model(x)[0]
    slow = model(x)[0]  # parameters require grad: the out-of-place path runs
    assert slow.requires_grad
    torch.testing.assert_close(fast, slow.detach(), rtol=0, atol=0)
    assert fast.is_contiguous(memory_format=torch.channels_last)


def test_trace_does_not_freeze_the_size_dependent_paths():
    # An ONNX export traces at one size; the graph must still be right at odd sizes.
    model = LRNNet(dilations=((1, ), (1, ), (9, )), out_indices=(2, )).eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.randn(1, 3, 64, 96), check_trace=False)
        x = torch.randn(1, 3, 65, 97)
        # the same kernels in the same order: equal up to the rounding of 3 stages
        assert_within_rounding(traced(x)[0], model(x)[0], depth=3, fan_in=128)
