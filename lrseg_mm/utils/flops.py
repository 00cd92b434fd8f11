"""Parameter and multiply-add (MAC) counts of a segmentor.

Vocabulary: one MAC is one multiply-add, ``y += a * b``; one FLOP is one multiply or one add,
so a MAC is two FLOPs. mmengine's ``FlopAnalyzer`` (behind ``get_model_complexity_info``,
which the toolbox's ``get_flops.py`` prints as "Flops") counts one multiply-add as one "flop",
i.e. it counts MACs for convolutions and matrix products, but it also adds its own estimates
for batch norm (2 per element), bilinear upsampling (4 per output element) and adaptive
pooling (1 per input element), which are not multiply-adds. :func:`count_macs` traces the
model with the same machinery but counts only operators that are multiply-adds:

* ``aten::_convolution`` (all convolutions, grouped/depthwise, dilated and transposed):
  ``N * prod(weight.shape) * prod(output spatial)`` (input spatial when transposed);
* ``aten::linear`` / ``aten::addmm`` / ``aten::mm`` / ``aten::matmul`` / ``aten::bmm`` /
  ``aten::baddbmm`` / ``aten::einsum``: ``batch * n * k * m`` for a (n, k) x (k, m)
  product, broadcast batch dimensions included. ``torch.bmm`` in the SVN power iteration
  and attention is therefore counted.

Everything else the trace meets (norms, activations, pooling, softmax, resizing, the vector
norms of the power iteration, ...) is not a multiply-add and is listed, by operator and
number of calls, in :attr:`MacReport.uncounted_ops` so a reader sees what was left out.
Biases are not counted (as in mmengine and fvcore). :func:`count_macs_dispatch` counts the
same operators with PyTorch's own ``torch.utils.flop_counter`` (no tracing; it reports
FLOPs = 2 x MACs) and serves as a cross-check.
"""
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Tuple, Union

import torch
import torch.nn as nn


def _shape(value) -> List[int]:
    from mmengine.analysis.jit_handles import get_shape
    return get_shape(value)


def _matmul_macs(inputs: List[Any], outputs: List[Any]) -> int:
    """MACs of ``a @ b`` with numpy broadcasting of the batch dimensions."""
    a, b = (_shape(v) for v in inputs[:2])
    if len(a) == 1:
        a = [1, a[0]]
    if len(b) == 1:
        b = [b[0], 1]
    if a[-1] != b[-2]:
        raise ValueError(f'matmul shapes do not match: {a} @ {b}')
    batch = torch.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    return math.prod(batch) * a[-2] * a[-1] * b[-1]


def _baddbmm_macs(inputs: List[Any], outputs: List[Any]) -> int:
    """MACs of ``beta * x + alpha * (b1 @ b2)``; the scaled add is not a product."""
    return _matmul_macs(inputs[1:3], outputs)


def mac_op_handles() -> Dict[str, Any]:
    """The operator handles of :func:`count_macs`: multiply-add operators only."""
    from mmengine.analysis.jit_handles import (addmm_flop_jit, conv_flop_jit,
                                               einsum_flop_jit, linear_flop_jit)
    return {
        'aten::_convolution': conv_flop_jit,
        'aten::addmm': addmm_flop_jit,
        'aten::linear': linear_flop_jit,
        'aten::einsum': einsum_flop_jit,
        'aten::mm': _matmul_macs,
        'aten::matmul': _matmul_macs,
        'aten::bmm': _matmul_macs,
        'aten::baddbmm': _baddbmm_macs,
    }


@dataclass
class MacReport:
    """Result of :func:`count_macs`.

    Attributes:
        macs (int): Multiply-adds of one forward pass of the given inputs.
        by_operator (dict): MACs per operator kind ('conv', 'bmm', 'matmul', ...).
        uncounted_ops (dict): Operators met in the trace that were not counted (not
            multiply-adds), with their number of calls.
    """
    macs: int
    by_operator: Dict[str, int] = field(default_factory=dict)
    uncounted_ops: Dict[str, int] = field(default_factory=dict)


def _as_tuple(inputs) -> Tuple:
    return inputs if isinstance(inputs, tuple) else (inputs, )


def count_macs(model: nn.Module, inputs: Union[torch.Tensor, Tuple]) -> MacReport:
    """Count the multiply-adds of ``model(*inputs)`` by tracing it (mmengine's analyzer).

    For a segmentor, ``model(img)`` runs the toolbox's ``mode='tensor'`` forward (backbone,
    neck, decode head; no final resize), the same call the toolbox's ``get_flops.py``
    analyses. The model should be in eval mode (dropout, BN statistics).

    Args:
        model (nn.Module): The model.
        inputs (Tensor | tuple): Positional inputs of one forward pass.

    Returns:
        MacReport: Total MACs, MACs per operator and the uncounted operators.
    """
    from mmengine.analysis.jit_analysis import JitModelAnalysis

    analysis = JitModelAnalysis(model, _as_tuple(inputs)).set_op_handle(**mac_op_handles())
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings('none')
    with torch.no_grad():
        total = int(analysis.total())
        by_operator = {k: int(v) for k, v in analysis.by_operator().items()}
        uncounted = dict(sorted(analysis.unsupported_ops().items()))
    return MacReport(total, by_operator, uncounted)


def count_macs_dispatch(model: nn.Module, inputs: Union[torch.Tensor, Tuple]) -> int:
    """MACs of ``model(*inputs)`` from ``torch.utils.flop_counter`` (its FLOPs / 2).

    It sees the operators the forward dispatches (convolution, mm, addmm, bmm, baddbmm,
    attention kernels) without tracing; used to cross-check :func:`count_macs`.
    """
    from torch.utils.flop_counter import FlopCounterMode
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(*_as_tuple(inputs))
    flops = counter.get_total_flops()
    if flops % 2:
        raise RuntimeError(f'torch flop counter returned an odd FLOP count {flops}')
    return flops // 2


def count_parameters(model: nn.Module, exclude: Iterable[str] = ()) -> int:
    """Number of parameters, skipping submodules whose attribute name is in ``exclude``.

    Shared parameters are counted once. E.g. ``exclude=('auxiliary_head',)`` gives the
    parameters of a segmentor's inference path (auxiliary heads only train).
    """
    excluded = {id(p) for name in exclude if isinstance(getattr(model, name, None), nn.Module)
                for p in getattr(model, name).parameters()}
    return sum(p.numel() for p in model.parameters() if id(p) not in excluded)


def format_count(value: float, unit: str = '', digits: int = 2) -> str:
    """``8331591680`` -> ``'8.33 G'`` (decimal prefixes, as the toolbox prints)."""
    if value is None:
        return 'n/a'
    for scale, prefix in ((1e12, 'T'), (1e9, 'G'), (1e6, 'M'), (1e3, 'K')):
        if abs(value) >= scale:
            return f'{value / scale:.{digits}f} {prefix}{unit}'
    return f'{value:.0f} {unit}'.rstrip()

