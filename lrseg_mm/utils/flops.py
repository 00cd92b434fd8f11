"""Parameter and multiply-add (MAC, two FLOPs) counts of a segmentor. mmengine's
``FlopAnalyzer`` (the toolbox's ``get_flops.py``) adds estimates for batch norm, upsampling
and pooling, which are not multiply-adds; :func:`count_macs` traces the model with the same
machinery and counts only multiply-adds:

* ``aten::_convolution`` (grouped, dilated, transposed): ``N * prod(weight.shape) *
  prod(output spatial)`` (input spatial when transposed);
* ``linear`` / ``addmm`` / ``mm`` / ``matmul`` / ``bmm`` / ``baddbmm`` / ``einsum``:
  ``batch * n * k * m`` for a (n, k) x (k, m) product, broadcast batch included (so the
  SVN power iteration's ``torch.bmm`` counts).

Every other operator met is listed with its number of calls in
:attr:`MacReport.uncounted_ops`. Biases are not counted (as in mmengine).
"""
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Tuple, Union

import torch
import torch.nn as nn


def _matmul_macs(inputs: List[Any], outputs: List[Any]) -> int:
    """MACs of ``a @ b`` with numpy broadcasting of the batch dimensions."""
    from mmengine.analysis.jit_handles import get_shape
    a, b = (get_shape(v) for v in inputs[:2])
    if len(a) == 1:
        a = [1, a[0]]
    if len(b) == 1:
        b = [b[0], 1]
    if a[-1] != b[-2]:
        raise ValueError(f'matmul shapes do not match: {a} @ {b}')
    batch = torch.broadcast_shapes(tuple(a[:-2]), tuple(b[:-2]))
    return math.prod(batch) * a[-2] * a[-1] * b[-1]


def _mac_op_handles() -> Dict[str, Any]:
    """mmengine operator handles of the multiply-add operators."""
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
        # beta * x + alpha * (b1 @ b2): the scaled add is not a product
        'aten::baddbmm': lambda inputs, outputs: _matmul_macs(inputs[1:3], outputs),
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


def count_macs(model: nn.Module, inputs: Union[torch.Tensor, Tuple]) -> MacReport:
    """Count the multiply-adds of ``model(*inputs)`` by tracing it (mmengine's analyzer).

    For a segmentor, ``model(img)`` is the toolbox's ``mode='tensor'`` forward (no final
    resize), the call the toolbox's ``get_flops.py`` analyses.

    Args:
        model (nn.Module): The model, in eval mode.
        inputs (Tensor | tuple): Positional inputs of one forward pass.
    """
    from mmengine.analysis.jit_analysis import JitModelAnalysis

    inputs = inputs if isinstance(inputs, tuple) else (inputs, )
    analysis = JitModelAnalysis(model, inputs).set_op_handle(**_mac_op_handles())
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    analysis.tracer_warnings('none')
    with torch.no_grad():
        total = int(analysis.total())
        by_operator = {k: int(v) for k, v in analysis.by_operator().items()}
        uncounted = dict(sorted(analysis.unsupported_ops().items()))
    return MacReport(total, by_operator, uncounted)


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

