import pytest
import torch

from lrseg_mm.models.utils import SVNBlock


def test_shape_and_num_vectors():
    block = SVNBlock(16, 8, grid_sizes=(8, 4))
    assert block.num_vectors == 80
    x = torch.randn(2, 16, 32, 48)
    assert block(x).shape == x.shape
    assert block.singular_vectors(block.reduce(x)).shape == (2, 80, 8)


def test_attention_is_a_distribution_over_the_keys_and_forms_the_output():
    torch.manual_seed(0)
    block = SVNBlock(16, 8, grid_sizes=(4, 2)).double().eval()
    x = torch.randn(2, 16, 12, 16, dtype=torch.float64)
    reduced = block.reduce(x)
    keys, attention = block.attention(reduced)
    assert keys.shape == (2, 20, 8) and attention.shape == (2, 20, 12 * 16)
    assert (attention >= 0).all()
    torch.testing.assert_close(attention.sum(dim=1), torch.ones(2, 12 * 16, dtype=x.dtype))
    # with logits scaled by 1/sqrt(C'), softmax(k.q / sqrt(C')) written out
    logits = torch.einsum('nsc,nchw->nshw', keys, reduced).flatten(2) / 8 ** 0.5
    torch.testing.assert_close(attention, logits.softmax(dim=1))
    context = torch.einsum('nsc,nsp->ncp', keys, attention).view_as(reduced)
    torch.testing.assert_close(block(x), x + block.restore(context))


def test_gradcheck_float64():
    torch.manual_seed(0)
    block = SVNBlock(4, 3, grid_sizes=(2, (1, 2)), norm_cfg=None).double()
    x = torch.randn(1, 4, 6, 5, dtype=torch.float64, requires_grad=True)
    # gradcheck's own comparison of float64 finite differences (step 1e-6, so an error of
    # about 1e-16 / 1e-6 of the outputs' scale, ~1e-10 here) with the analytic gradient
    assert torch.autograd.gradcheck(block, (x, ), eps=1e-6, atol=1e-4)


def test_all_zero_input_is_finite():
    block = SVNBlock(8, 4).eval()
    out = block(torch.zeros(1, 8, 16, 16))
    assert torch.isfinite(out).all()


def test_fp16_autocast_is_finite():
    block = SVNBlock(8, 4).eval()
    x = torch.randn(1, 8, 16, 16) * 100
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block(x)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize('grid', [(0, ), ((2, 2, 2), )])
def test_rejects_bad_grids(grid):
    with pytest.raises(ValueError, match='grid'):
        SVNBlock(8, 4, grid_sizes=grid)
