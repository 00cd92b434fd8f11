"""LRNNet's inference-only path (in place, channels-last on CPU) computes what the
autograd path computes, and a traced LRNNet stays right at other sizes."""
import torch

from lrseg_mm.models.backbones import LRNNet

from tolerances import assert_within_rounding


def test_inplace_inference_path_equals_autograd_path():
    model = LRNNet(dilations=((1, ), (1, ), (1, 9)), out_indices=(2, )).eval()
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        fast = model(x)[0]
    slow = model(x)[0]  # parameters require grad: the out-of-place path runs
    assert slow.requires_grad
    torch.testing.assert_close(fast, slow.detach(), rtol=0, atol=0)
    assert fast.is_contiguous(memory_format=torch.channels_last)


def test_trace_generalises_to_odd_sizes():
    # An ONNX export traces at one size; the graph must still be right at odd sizes.
    model = LRNNet(dilations=((1, ), (1, ), (9, )), out_indices=(2, )).eval()
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.randn(1, 3, 64, 96), check_trace=False)
        x = torch.randn(1, 3, 65, 97)
        # the same kernels in the same order: equal up to the rounding of 3 stages
        assert_within_rounding(traced(x)[0], model(x)[0], depth=3, fan_in=128)
