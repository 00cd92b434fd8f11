"""Float comparison bounds derived from the computation, never a fixed ``atol``.

Two ways of comparing, used across the suite:

* Re-derived dataflows (a module written out with ``F.conv2d`` & co.) run both sides in
  float64, so that any difference in the order of float32 sums (oneDNN picks other kernels on
  AVX-512 Xeons than on EPYCs) vanishes and only a wrong dataflow can fail the comparison.
* Results that must stay float32 (an exported graph, a fused layer) are compared with
  :func:`rounding_bound`: the worst-case error of ``depth`` layers of ``fan_in``-term sums
  (Higham's gamma_n = n * u per layer), scaled to the magnitude of the result.
"""
import torch


def eps(dtype: torch.dtype) -> float:
    """Unit roundoff of ``dtype`` (machine epsilon)."""
    return torch.finfo(dtype).eps


def rounding_bound(reference: torch.Tensor, depth: int = 1, fan_in: int = 1,
                   dtype: torch.dtype = torch.float32) -> float:
    """Largest rounding error expected of a computation whose exact result is ``reference``.

    Args:
        reference (Tensor): The result (best a float64 one); its largest magnitude sets the
            scale.
        depth (int): Number of rounded layers the value went through.
        fan_in (int): Terms summed per output in the widest layer.
        dtype (torch.dtype): Precision of the computation being bounded.

    Returns:
        float: ``depth * fan_in * eps(dtype) * max(|reference|, tiny)``.
    """
    scale = max(reference.detach().abs().max().item(), torch.finfo(dtype).tiny)
    return depth * fan_in * eps(dtype) * scale


def assert_within_rounding(actual: torch.Tensor, reference: torch.Tensor, depth: int = 1,
                           fan_in: int = 1, dtype: torch.dtype = None) -> None:
    """Assert ``|actual - reference| <= rounding_bound(...)`` elementwise, with a message.

    ``dtype`` defaults to the less precise of the two tensors' dtypes.
    """
    if dtype is None:
        dtype = min((actual.dtype, reference.dtype), key=lambda d: torch.finfo(d).bits)
    assert actual.shape == reference.shape, (actual.shape, reference.shape)
    bound = rounding_bound(reference, depth, fan_in, dtype)
    error = (actual.detach().double() - reference.detach().double()).abs().max().item()
    assert error <= bound, f'max abs difference {error:.3g} exceeds the rounding bound ' \
        f'{bound:.3g} (depth {depth}, fan-in {fan_in}, {dtype})'
