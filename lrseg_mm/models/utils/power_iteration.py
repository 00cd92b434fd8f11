from typing import Sequence, Tuple

import torch

SIGN_REFERENCES = ('mean', 'energy')


def dominant_left_singular_vectors(matrices: torch.Tensor,
                                   num_iters: int = 3,
                                   eps: float = 1e-6,
                                   sign_reference: str = 'mean') -> torch.Tensor:
    """Dominant left singular vectors of a batch of matrices by power iteration.

    For each ``A`` of shape (C, n) the iteration ``u <- A (A^T u) / ||.||`` converges to the
    top eigenvector of ``A A^T``, i.e. the dominant left singular vector. A singular vector is
    defined up to sign; ``sign_reference`` picks the start of the iteration and the sign of
    the result, so that the output is a function of ``A`` rather than of the iteration:

    - ``'mean'``: start from, and align the sign with, the column mean of ``A``. Close to the
      answer for non-negative maps (after a ReLU), whose columns share a sign pattern; for
      signed maps the mean can vanish and flip with the signs of single columns.
    - ``'energy'``: start from ``A A^T e_k``, where ``k`` is the row (channel) of ``A`` with
      the largest energy, and align the sign with it (at convergence: ``u_k > 0``). It
      depends on ``A A^T`` only, so flipping the sign of any columns of ``A``, or of all of
      ``A``, leaves the result unchanged: the convention for signed features.

    The arithmetic runs in float32 (or float64 when given) even under autocast, and ``eps``
    keeps an all-zero matrix at a zero vector instead of NaN. The loop has a fixed length, so
    it traces and exports.

    Args:
        matrices (Tensor): Shape (B, C, n).
        num_iters (int): Power-iteration steps after the start. Default: 3.
        eps (float): Added to each norm before dividing. Default: 1e-6.
        sign_reference (str): ``'mean'`` or ``'energy'``, see above. Default: ``'mean'``.

    Returns:
        Tensor: Shape (B, C), unit-norm (or zero) columns, in ``matrices``' float dtype
        promoted to at least float32.
    """
    if matrices.dim() != 3:
        raise ValueError('dominant_left_singular_vectors expects (B, C, n), got shape '
                         f'{tuple(matrices.shape)}')
    if num_iters < 0:
        raise ValueError(f'num_iters must be >= 0, got {num_iters}')
    if sign_reference not in SIGN_REFERENCES:
        raise ValueError(f'sign_reference must be one of {SIGN_REFERENCES}, got '
                         f'{sign_reference!r}')
    dtype = torch.promote_types(matrices.dtype, torch.float32)
    with torch.autocast(device_type=matrices.device.type, enabled=False):
        a = matrices.to(dtype)
        if sign_reference == 'mean':
            reference = a.mean(dim=2)
        else:
            k = a.square().sum(dim=2).argmax(dim=1)  # (B,)
            row = a.gather(1, k.view(-1, 1, 1).expand(-1, 1, a.shape[2]))  # (B, 1, n)
            reference = torch.bmm(a, row.transpose(1, 2)).squeeze(2)  # A A^T e_k
        u = reference / (reference.norm(dim=1, keepdim=True) + eps)
        for _ in range(num_iters):
            v = torch.bmm(a.transpose(1, 2), u.unsqueeze(2))  # (B, n, 1)
            u = torch.bmm(a, v).squeeze(2)
            u = u / (u.norm(dim=1, keepdim=True) + eps)
        sign = torch.where((u * reference).sum(dim=1, keepdim=True) < 0, -1.0, 1.0)
        return u * sign.to(dtype)


def _region_index(length, grid: int,
                  device: torch.device) -> Tuple[torch.Tensor, torch.Tensor]:
    """Row/column indices of ``grid`` adaptive regions along an axis of ``length``.

    Region ``i`` spans ``[floor(i L / g), ceil((i + 1) L / g))`` as in adaptive pooling, so
    regions cover the axis for any length (they overlap by a pixel when L is not divisible
    and repeat pixels when L < g). Returns the (grid, max_len) index and its validity mask.
    Built from tensor ops only, so ``length`` may be a traced size and an ONNX export keeps
    the indices a function of the input's height and width.
    """
    i = torch.arange(grid, device=device)
    starts = torch.div(i * length, grid, rounding_mode='floor')
    ends = -torch.div(-(i + 1) * length, grid, rounding_mode='floor')
    lengths = ends - starts
    offsets = torch.arange(lengths.max(), device=device)
    idx = torch.minimum(starts.unsqueeze(1) + offsets, ends.unsqueeze(1) - 1)
    mask = offsets < lengths.unsqueeze(1)
    return idx, mask


def region_matrices(x: torch.Tensor, grid: Sequence[int]) -> torch.Tensor:
    """Cut a feature map into a grid of regions and flatten each to a (C, pixels) matrix.

    Args:
        x (Tensor): Shape (N, C, H, W).
        grid (Sequence[int]): Regions along H and W, e.g. (8, 8).

    Returns:
        Tensor: Shape (N * gh * gw, C, mh * mw), regions in row-major order. When H and W
        are divisible by the grid this is a pure reshape; otherwise the regions follow
        adaptive-pooling boundaries and padded positions are zero columns, which leave the
        left singular vectors unchanged. While tracing (ONNX export) the gather path is used
        for every size, since it gives the same regions and its shapes follow the input's.
    """
    n, c, h, w = x.shape
    gh, gw = grid
    if not torch.jit.is_tracing() and h % gh == 0 and w % gw == 0:
        mh, mw = h // gh, w // gw
        regions = x.reshape(n, c, gh, mh, gw, mw)
    else:
        idx_h, mask_h = _region_index(h, gh, x.device)
        idx_w, mask_w = _region_index(w, gw, x.device)
        mh, mw = idx_h.shape[1], idx_w.shape[1]
        regions = x[:, :, idx_h.reshape(-1)][..., idx_w.reshape(-1)]
        regions = regions.reshape(n, c, gh, mh, gw, mw)
        mask = mask_h.reshape(gh, mh, 1, 1) & mask_w.reshape(1, 1, gw, mw)
        regions = regions * mask.to(x.dtype)
    return regions.permute(0, 2, 4, 1, 3, 5).reshape(n * gh * gw, c, mh * mw)
