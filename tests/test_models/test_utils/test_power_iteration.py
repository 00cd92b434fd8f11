import pytest
import torch

from lrseg_mm.models.utils import dominant_left_singular_vectors, region_matrices

from tolerances import assert_within_rounding


def _matrices_with_gap(batch, c, n, seed, signed=False):
    # Feature-like matrices: a strong shared direction plus noise, so the top singular value
    # is well separated. After a ReLU (signed=False) the direction is non-negative; without
    # one (signed=True) its loadings take both signs.
    g = torch.Generator().manual_seed(seed)
    base = torch.randn(batch, c, 1, generator=g) if signed else torch.rand(batch, c, 1,
                                                                           generator=g)
    return base * torch.rand(batch, 1, n, generator=g) * 3 + 0.3 * torch.randn(
        batch, c, n, generator=g)


def test_matches_svd_top_left_singular_vector():
    a = _matrices_with_gap(16, 32, 49, seed=0)
    u = dominant_left_singular_vectors(a, num_iters=3)
    u_ref = torch.linalg.svd(a, full_matrices=False).U[..., 0]
    cos = (u * u_ref).sum(1).abs() / (u.norm(dim=1) * u_ref.norm(dim=1))
    assert cos.min() > 0.99, cos


def test_converges_on_random_gaussian_regions_with_more_iterations():
    a = torch.randn(8, 16, 64, generator=torch.Generator().manual_seed(1))
    u = dominant_left_singular_vectors(a, num_iters=200)
    u_ref = torch.linalg.svd(a, full_matrices=False).U[..., 0]
    assert (u * u_ref).sum(1).abs().min() > 0.99


def test_sign_follows_region_mean_and_unit_norm():
    a = _matrices_with_gap(4, 8, 20, seed=2)
    u = dominant_left_singular_vectors(a)
    # 3 iterations of two 8- or 20-term products, then a normalisation
    assert_within_rounding(u.norm(dim=1), torch.ones(4), depth=8, fan_in=20)
    assert ((u * a.mean(2)).sum(1) > 0).all()
    assert_within_rounding(dominant_left_singular_vectors(-a), -u, depth=8, fan_in=20)


@pytest.mark.parametrize('fill', [0.0, 1.0])
def test_zero_and_constant_regions_are_finite(fill):
    a = torch.full((3, 8, 16), fill)
    u = dominant_left_singular_vectors(a)
    assert torch.isfinite(u).all()
    if fill == 0:
        assert (u == 0).all()
    else:
        assert_within_rounding(u, torch.full_like(u, 8**-0.5), depth=8, fan_in=16)


def test_rejects_bad_shapes():
    with pytest.raises(ValueError, match=r'\(B, C, n\)'):
        dominant_left_singular_vectors(torch.zeros(2, 3))


def test_region_matrices_reshape_matches_manual_slicing():
    x = torch.randn(2, 3, 16, 24)
    regions = region_matrices(x, (4, 4))
    assert regions.shape == (2 * 16, 3, 4 * 6)
    # region (n=1, row 2, col 3) in row-major order
    expected = x[1, :, 8:12, 18:24].reshape(3, -1)
    assert torch.equal(regions[16 + 2 * 4 + 3], expected)


@pytest.mark.parametrize('size', [(45, 61), (5, 3), (9, 17)])
def test_region_matrices_cover_non_divisible_maps(size):
    h, w = size
    x = torch.rand(1, 2, h, w) + 1  # strictly positive: zeros mark padding
    regions = region_matrices(x, (4, 8))
    assert regions.shape[0] == 32
    # every pixel lies in at least one region, and every region holds at least one pixel
    assert ((regions != 0).flatten(1).sum(1) > 0).all()
    covered = torch.zeros(h, w, dtype=torch.bool)
    for i in range(h):
        for j in range(w):
            covered[i, j] = (regions[:, 0] == x[0, 0, i, j]).any()
    assert covered.all()


def test_energy_sign_ignores_the_sign_of_columns_and_of_the_matrix():
    a = _matrices_with_gap(6, 8, 20, seed=3, signed=True)
    flips = torch.where(torch.rand(6, 1, 20, generator=torch.Generator().manual_seed(4)) < 0.5,
                        -1.0, 1.0)
    u = dominant_left_singular_vectors(a, sign_reference='energy')
    # (-x)(-y) == xy exactly, and the sums run in the same order: bitwise equal
    assert torch.equal(dominant_left_singular_vectors(a * flips, sign_reference='energy'), u)
    assert torch.equal(dominant_left_singular_vectors(-a, sign_reference='energy'), u)
    # the mean convention follows the flips: it is not a function of A A^T
    mean_u = dominant_left_singular_vectors(a, sign_reference='mean')
    mean_flipped = dominant_left_singular_vectors(a * flips, sign_reference='mean')
    assert not torch.allclose(mean_u, mean_flipped, atol=1e-3)


def test_energy_sign_makes_the_strongest_channel_positive_and_converges():
    a = _matrices_with_gap(6, 8, 20, seed=5, signed=True)
    u = dominant_left_singular_vectors(a, num_iters=100, sign_reference='energy')
    u_ref = torch.linalg.svd(a.double(), full_matrices=False).U[..., 0]
    assert (u.double() * u_ref).sum(1).abs().min() > 1 - 1e-5
    k = a.square().sum(2).argmax(1)
    assert (u.gather(1, k.unsqueeze(1)) > 0).all()


def test_energy_sign_keeps_a_zero_matrix_at_zero():
    assert (dominant_left_singular_vectors(torch.zeros(2, 4, 9), sign_reference='energy') == 0).all()


def test_rejects_unknown_sign_reference():
    with pytest.raises(ValueError, match="sign_reference must be one of \\('mean', 'energy'\\)"):
        dominant_left_singular_vectors(torch.zeros(2, 3, 4), sign_reference='max')
