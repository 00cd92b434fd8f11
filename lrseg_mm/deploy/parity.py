"""Whether an exported graph computes what the PyTorch segmentor computes.

A runtime and PyTorch both round in float32, each with its own kernels, so their logits
differ by about PyTorch's own float32 error (:func:`float32_rounding_error`); a wrong graph
differs by the logits' scale.
"""
import copy
from typing import NamedTuple, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .backends import build_backend
from .export import SegmentorForExport, random_images


class Parity(NamedTuple):
    """A runtime vs PyTorch on one input: the largest difference and the logits' scale."""
    max_abs_diff: float
    max_abs_logit: float


def backend_parity(model_file: str,
                   segmentor: nn.Module,
                   shape: Tuple[int, int],
                   backend: str = 'onnxruntime',
                   batch_size: int = 1,
                   seed: int = 0,
                   threads: Optional[int] = None) -> Parity:
    """A runtime's logits against PyTorch's on a random normal input: ``max |runtime -
    torch|`` over all logits and ``max |torch|`` for scale; RuntimeError if the shapes
    differ.

    Args:
        model_file (str): The exported model (an OpenVINO IR too, for 'openvino').
        segmentor (nn.Module): The PyTorch segmentor it was exported from.
        shape (tuple[int, int]): Input height and width.
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        batch_size (int): Batch size. Default: 1.
        seed (int): Seed of the random input. Default: 0.
        threads (int, optional): CPU threads of the runtime. Default: its own choice.
    """
    img = random_images(batch_size, shape, seed)
    segmentor.eval()
    with torch.no_grad():
        expected = SegmentorForExport(segmentor)(
            img.to(next(segmentor.parameters()).device)).cpu().numpy()
    actual = build_backend(backend, onnx_file=model_file, threads=threads)(img)
    if actual.shape != expected.shape:
        raise RuntimeError(f'{backend} gave logits of shape {actual.shape}, PyTorch '
                           f'{expected.shape}, for a {shape[0]}x{shape[1]} input')
    return Parity(float(np.abs(actual - expected).max()), float(np.abs(expected).max()))


def float32_rounding_error(segmentor: nn.Module,
                           shape: Tuple[int, int],
                           batch_size: int = 1,
                           seed: int = 0) -> float:
    """Largest difference between PyTorch's float32 logits and float64 ones (same input).

    The scale of float32 rounding in this network: a runtime's difference of the same
    order is rounding, not an export error. Uses the input of :func:`backend_parity` with
    the same seed.
    """
    img = random_images(batch_size, shape, seed)
    segmentor.eval()
    device = next(segmentor.parameters()).device
    exact = copy.deepcopy(segmentor).double()
    with torch.no_grad():
        single = SegmentorForExport(segmentor)(img.to(device)).double()
        double = SegmentorForExport(exact)(img.to(device).double())
    return float((single - double).abs().max())
