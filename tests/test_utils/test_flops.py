"""lrseg_mm.utils.flops: multiply-add and parameter counts."""
import torch
import torch.nn as nn

from torch.utils.flop_counter import FlopCounterMode

from lrseg_mm.utils import count_macs, count_parameters, format_count


def dispatch_macs(model, x):
    """MACs from PyTorch's dispatch-level counter (no tracing): its FLOPs / 2."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    return counter.get_total_flops() // 2


class ConvStack(nn.Module):
    """A stack whose MACs are easy to derive by hand (see the test)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(8)
        self.depthwise = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=8)
        self.pointwise = nn.Conv2d(8, 4, 1)
        self.keys = nn.Parameter(torch.randn(5, 4))

    def forward(self, x):
        x = self.pointwise(self.depthwise(torch.relu(self.bn(self.stem(x)))))
        attention = torch.bmm(self.keys.expand(x.shape[0], 5, 4), x.flatten(2))  # (N, 5, HW)
        return x, torch.matmul(attention.transpose(1, 2), self.keys)  # (N, HW, 4)


def test_conv_stack_macs_match_hand_count():
    model = ConvStack().eval()
    x = torch.randn(2, 3, 32, 32)
    # Output of the stride-2 stem: 16x16 = 256 positions; batch N = 2.
    stem = 2 * 256 * 8 * 3 * 3 * 3          # N * out positions * C_out * C_in * k * k
    depthwise = 2 * 256 * 8 * 1 * 3 * 3     # groups=8: one input channel per output channel
    pointwise = 2 * 256 * 4 * 8             # 1x1, bias not counted
    bmm = 2 * 5 * 4 * 256                   # (5, 4) @ (4, 256) per image
    matmul = 2 * 256 * 5 * 4                # (256, 5) @ (5, 4) per image
    report = count_macs(model, x)
    assert report.macs == stem + depthwise + pointwise + bmm + matmul == 184_320
    assert report.by_operator == {'conv': stem + depthwise + pointwise, 'bmm': bmm,
                                  'matmul': matmul}
    # BN is not a multiply-add here: it is listed as uncounted, not folded into the total.
    assert 'aten::batch_norm' in report.uncounted_ops
    # PyTorch's own dispatch-level counter agrees (it reports FLOPs = 2 x MACs).
    assert dispatch_macs(model, x) == report.macs


def test_lrnnet_bmm_of_power_iteration_is_counted():
    from lrseg_mm.apis import load_segmentor
    model = load_segmentor('configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py')
    x = torch.randn(1, 3, 64, 128)
    report = count_macs(model, x)
    # SVN block on the 8x16 map, C' = 32: 3 power-iteration steps of two matrix-vector
    # products over all pixels per grid (2 grids), then keys x queries and values x attention
    # over S = 80 vectors: 2*3*2*(32*128) + 2*(80*32*128).
    assert report.by_operator['bmm'] == 2 * 3 * 2 * 32 * 128 + 2 * 80 * 32 * 128 == 704_512
    assert report.macs == dispatch_macs(model, x)


def test_parameter_count_excludes_named_submodules():
    model = nn.Module()
    model.main = nn.Linear(4, 3)              # 12 + 3
    model.auxiliary_head = nn.Linear(4, 2)    # 8 + 2
    assert count_parameters(model) == 25
    assert count_parameters(model, exclude=('auxiliary_head', 'missing')) == 15


def test_format_count_uses_decimal_prefixes():
    assert format_count(8_331_591_680) == '8.33 G'
    assert format_count(681_442) == '681.44 K'
    assert format_count(12) == '12'
    assert format_count(None) == 'n/a'
