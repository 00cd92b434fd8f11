"""channel_shuffle's fast native path: memory format kept, same values as the traced form."""
import torch

from lrseg_mm.models.utils import channel_shuffle


def reference_shuffle(x, groups):
    n, c, h, w = x.shape
    return x.reshape(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def test_channels_last_in_channels_last_out():
    x = torch.randn(2, 12, 5, 7).contiguous(memory_format=torch.channels_last)
    out = channel_shuffle(x, 3)
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(out, reference_shuffle(x, 3))


def test_traced_form_equals_eager():
    x = torch.randn(1, 8, 4, 6)
    traced = torch.jit.trace(lambda t: channel_shuffle(t, 2), (x, ))
    graph = str(traced.graph)
    assert 'aten::transpose' in graph and 'aten::channel_shuffle' not in graph  # exportable
    assert torch.equal(traced(x), channel_shuffle(x, 2))
