import pytest
import torch

from lrseg_mm.models.utils import SVNBlock, region_matrices


def test_shape_and_num_vectors():
    block = SVNBlock(16, 8, grid_sizes=(8, 4))
    assert block.num_vectors == 80
    x = torch.randn(2, 16, 32, 48)
    assert block(x).shape == x.shape
    assert block.keys_and_values(block.reduce(x))[0].shape == (2, 80, 8)


def test_attention_is_a_distribution_over_the_keys_and_forms_the_output():
    torch.manual_seed(0)
    block = SVNBlock(16, 8, grid_sizes=(4, 2)).double().eval()
    x = torch.randn(2, 16, 12, 16, dtype=torch.float64)
    reduced = block.reduce(x)
    keys, attention = block.attention(x)
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


# Every option of the block, alone and together (the screened combinations among them).
OPTIONS = {
    'zero_init': dict(zero_init=True),
    'signed': dict(signed=True),
    'query_proj': dict(query_proj=True),
    'learn_temperature': dict(learn_temperature=True),
    'scale_values': dict(scale_values=True),
    'no_restore_norm': dict(restore_norm=False),
    'all': dict(zero_init=True, signed=True, query_proj=True, learn_temperature=True,
                scale_values=True),
    'all_no_restore_norm': dict(zero_init=True, signed=True, query_proj=True,
                                learn_temperature=True, restore_norm=False),
}


@pytest.mark.parametrize('name', sorted(OPTIONS))
def test_every_option_runs_forward_and_backward_in_float64(name):
    torch.manual_seed(0)
    block = SVNBlock(4, 3, grid_sizes=(2, (1, 2)), norm_cfg=None, **OPTIONS[name]).double()
    x = torch.randn(1, 4, 6, 5, dtype=torch.float64, requires_grad=True)
    if block.zero_init:  # a zero last layer passes no gradient to the rest of the branch
        torch.nn.init.normal_(block.restore.conv.weight)
    assert torch.autograd.gradcheck(block, (x, ), eps=1e-6, atol=1e-4)


@pytest.mark.parametrize('restore_norm', [True, False])
def test_zero_init_block_is_the_identity_before_and_after_init_weights(restore_norm):
    torch.manual_seed(0)
    x = torch.randn(2, 16, 16, 24)
    block = SVNBlock(16, 8, zero_init=True, signed=True, restore_norm=restore_norm)
    assert torch.equal(block(x), x)
    block.init_weights()  # ConvModule.init_weights alone would reset the zeroed layer
    assert torch.equal(block(x), x)
    assert not torch.equal(SVNBlock(16, 8, restore_norm=restore_norm)(x), x)


def test_zero_init_branch_still_learns():
    torch.manual_seed(0)
    block = SVNBlock(16, 8, zero_init=True)
    block(torch.randn(2, 16, 16, 16)).square().sum().backward()
    assert block.restore.norm.weight.grad.abs().sum() > 0


def test_signed_block_has_signed_queries_and_sign_free_keys():
    torch.manual_seed(0)
    block = SVNBlock(16, 8, grid_sizes=(4, 2), signed=True).eval()
    unsigned = SVNBlock(16, 8, grid_sizes=(4, 2)).eval()
    x = torch.randn(2, 16, 16, 24)
    assert (block.reduce(x) < 0).any() and (unsigned.reduce(x) >= 0).all()
    reduced = block.reduce(x)
    keys = block.keys_and_values(reduced)[0]
    # a region's keys depend on its Gram matrix only: flipping pixels (columns of the
    # region matrices) or the whole map changes none of them
    flips = torch.where(torch.rand(2, 1, 16, 24) < 0.5, -1.0, 1.0)
    assert torch.equal(block.keys_and_values(reduced * flips)[0], keys)
    assert torch.equal(block.keys_and_values(-reduced)[0], keys)


def test_query_projection_is_separate_from_keys():
    torch.manual_seed(0)
    shared = SVNBlock(16, 8, grid_sizes=(4, ), signed=True)
    block = SVNBlock(16, 8, grid_sizes=(4, ), signed=True, query_proj=True).double().eval()
    extra = sum(p.numel() for p in block.parameters()) - sum(
        p.numel() for p in shared.parameters())
    assert extra == 16 * 8 + 2 * 8  # a 1x1 conv without bias and its BN
    x = torch.randn(1, 16, 8, 12, dtype=torch.float64)
    keys, attention = block.attention(x)
    logits = torch.einsum('nsc,ncp->nsp', keys, block.query(x).flatten(2)) * 8**-0.5
    torch.testing.assert_close(attention, logits.softmax(dim=1))


def test_learned_temperature_starts_at_the_fixed_scale_and_sharpens_attention():
    torch.manual_seed(0)
    x = torch.randn(1, 16, 16, 16)
    fixed = SVNBlock(16, 8, signed=True).eval()
    learned = SVNBlock(16, 8, signed=True, learn_temperature=True).eval()
    learned.load_state_dict(fixed.state_dict(), strict=False)
    assert [n for n, _ in learned.named_parameters() if 'logit' in n] == ['log_logit_scale']
    torch.testing.assert_close(learned.attention(x)[1], fixed.attention(x)[1])

    def entropy(attention):
        return -(attention * attention.clamp_min(1e-12).log()).sum(1).mean()

    before = entropy(learned.attention(x)[1])
    with torch.no_grad():
        learned.log_logit_scale += 2
    assert entropy(learned.attention(x)[1]) < before
    learned.train()
    learned(x).sum().backward()
    assert learned.log_logit_scale.grad is not None


def test_scaled_values_are_keys_times_rms_singular_values():
    torch.manual_seed(0)
    block = SVNBlock(8, 4, grid_sizes=(2, ), num_iters=200, signed=True,
                     scale_values=True).double().eval()
    reduced = torch.randn(1, 4, 6, 8, dtype=torch.float64)
    keys, values = block.keys_and_values(reduced)
    sigma = torch.linalg.svdvals(region_matrices(reduced, (2, 2)))[:, 0]
    torch.testing.assert_close(values.norm(dim=2)[0], sigma / (3 * 4)**0.5)
    torch.testing.assert_close(values / values.norm(dim=2, keepdim=True), keys)


def test_no_restore_norm_is_the_same_function_in_train_and_eval():
    torch.manual_seed(0)
    block = SVNBlock(16, 8, restore_norm=False, norm_cfg=None)
    x = torch.randn(2, 16, 16, 16)
    assert not block.restore.with_norm
    torch.testing.assert_close(block.train()(x), block.eval()(x), rtol=0, atol=0)
