"""The one place that builds ONNX Runtime and OpenVINO sessions; a segmentor's exported
function run on either runtime ('pytorch', the eager model, is timed directly), and checked
against PyTorch: a runtime's logits differ from PyTorch's by about PyTorch's own float32
error (:func:`float32_rounding_error`), a wrong graph's by the logits' scale.

CPU settings for latency: ONNX Runtime's CPU provider, ``threads`` intra-op threads,
sequential execution, all graph optimisations; OpenVINO on ``CPU`` with ``threads``,
``PERFORMANCE_HINT = LATENCY`` and ``INFERENCE_PRECISION_HINT = f32`` (no silent bfloat16;
INT8 graphs stay INT8).
"""
import copy
import os.path as osp
import tempfile
from typing import Callable, NamedTuple, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .export import SegmentorForExport, cached_export, random_images
from .metadata import is_openvino_ir

BACKENDS = ('pytorch', 'onnxruntime', 'openvino')


def import_backend(backend: str):
    """The runtime package of ``backend`` (one of :data:`BACKENDS`, else a ValueError naming
    them); an ImportError with the ``pip install`` command if it is not installed."""
    if backend not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; choose one of {", ".join(BACKENDS)}')
    if backend == 'pytorch':
        return torch
    try:
        return __import__(backend)
    except ImportError as error:
        raise ImportError(f'backend {backend!r} needs the {backend} package, which is not '
                          f'installed: pip install {backend}') from error


def onnxruntime_session(onnx_file: str, threads: Optional[int] = None, profile: bool = False):
    """An ONNX Runtime CPU session of ``onnx_file`` with this module's settings and
    ``threads``; ``profile`` turns its profiler on (``session.end_profiling()`` names the
    trace file, in the temporary folder)."""
    ort = import_backend('onnxruntime')
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_profiling = profile
    options.profile_file_prefix = osp.join(tempfile.gettempdir(), 'lrseg_mm_ort_profile')
    return ort.InferenceSession(onnx_file, options, providers=['CPUExecutionProvider'])


def openvino_compiled_model(model_file: str, threads: Optional[int] = None,
                            profile: bool = False):
    """An OpenVINO CPU compiled model of ``model_file`` (ONNX or IR) with this module's
    settings and ``threads``; ``profile`` turns on per-node counters
    (``request.profiling_info``)."""
    ov = import_backend('openvino')
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32',
              'PERF_COUNT': profile}
    if threads is not None:
        config['INFERENCE_NUM_THREADS'] = str(threads)
    core = ov.Core()
    return core.compile_model(core.read_model(model_file), 'CPU', config)


class DeployedModel:
    """An exported graph on one runtime: a normalised batch ``(N, 3, H, W)`` (numpy or
    tensor) in, numpy logits ``(N, num_classes, H, W)`` out.

    Args:
        backend (str): 'onnxruntime' or 'openvino'.
        fn (callable): numpy float32 batch -> numpy logits.
        threads (int, optional): CPU threads the runtime was built with.
        onnx_file (str): The file the runtime runs.
    """

    def __init__(self, backend: str, fn: Callable[[np.ndarray], np.ndarray],
                 threads: Optional[int], onnx_file: str):
        self.backend, self.fn, self.threads, self.onnx_file = backend, fn, threads, onnx_file

    def __call__(self, img) -> np.ndarray:
        img = img.detach().cpu().numpy() if isinstance(img, torch.Tensor) else img
        img = np.ascontiguousarray(img, dtype=np.float32)
        if img.ndim != 4 or img.shape[1] != 3:
            raise ValueError(f'expected a (N, 3, H, W) image batch, got shape {img.shape}')
        return self.fn(img)


def build_backend(backend: str, segmentor: Optional[nn.Module] = None,
                  shape: Optional[Tuple[int, int]] = None, batch_size: int = 1,
                  threads: Optional[int] = None, onnx_file: Optional[str] = None,
                  cache_dir: Optional[str] = None) -> DeployedModel:
    """A :class:`DeployedModel` running a segmentor's exported logits on ``backend``;
    ValueError for bad arguments, FileNotFoundError, or ImportError naming the pip command.

    Args:
        backend (str): 'onnxruntime' or 'openvino'.
        segmentor (nn.Module, optional): The segmentor to export (by
            :func:`~lrseg_mm.deploy.cached_export`) when no ``onnx_file`` is given.
        shape (tuple[int, int], optional): Input (H, W) of the export.
        batch_size (int): Batch size of the export. Default: 1.
        threads (int, optional): CPU threads of the backend. Default: its own choice.
        onnx_file (str, optional): The ONNX file (or, for 'openvino', IR) to run.
        cache_dir (str, optional): Where exports are cached.
    """
    if import_backend(backend) is torch:  # a missing package fails before a costly export
        raise ValueError("backend 'pytorch' is the segmentor itself: call it, or time it "
                         'with lrseg_mm.utils.InferenceRunner')
    if threads is not None and threads < 1:
        raise ValueError(f'threads must be >= 1, got {threads}')
    if onnx_file is None:
        if segmentor is None or shape is None:
            raise ValueError(f'backend {backend!r} needs an onnx_file, or a segmentor and '
                             'the input shape to export it at')
        onnx_file = cached_export(segmentor, shape, batch_size, cache_dir)
    elif not osp.isfile(onnx_file):
        raise FileNotFoundError(f'model file not found: {onnx_file}')
    elif backend == 'onnxruntime' and is_openvino_ir(onnx_file):
        raise ValueError(f'{onnx_file} is an OpenVINO IR, which onnxruntime cannot run; use '
                         "backend 'openvino', or give onnxruntime an .onnx file")
    if backend == 'onnxruntime':
        session = onnxruntime_session(onnx_file, threads)
        names = [session.get_outputs()[0].name], session.get_inputs()[0].name
        return DeployedModel(backend, lambda img: session.run(names[0], {names[1]: img})[0],
                             threads, onnx_file)
    request = openvino_compiled_model(onnx_file, threads).create_infer_request()

    def run_openvino(img: np.ndarray) -> np.ndarray:
        request.infer({0: img})
        return request.get_output_tensor(0).data.copy()

    return DeployedModel(backend, run_openvino, threads, onnx_file)


class Parity(NamedTuple):
    """A runtime vs PyTorch on one input: the largest difference and the logits' scale."""
    max_abs_diff: float
    max_abs_logit: float


def backend_parity(model_file: str, segmentor: nn.Module, shape: Tuple[int, int],
                   backend: str = 'onnxruntime', batch_size: int = 1, seed: int = 0) -> Parity:
    """``max |runtime - torch|`` and ``max |torch|`` of the logits on a random normal input
    (RuntimeError if the shapes differ).

    Args:
        model_file (str): The exported model (an OpenVINO IR too, for 'openvino').
        segmentor (nn.Module): The PyTorch segmentor it was exported from.
        shape (tuple[int, int]): Input height and width.
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        batch_size (int): Batch size. Default: 1.
        seed (int): Seed of the random input. Default: 0.
    """
    img = random_images(batch_size, shape, seed)
    expected = _torch_logits(segmentor, img).cpu().numpy()
    actual = build_backend(backend, onnx_file=model_file)(img)
    if actual.shape != expected.shape:
        raise RuntimeError(f'{backend} gave logits of shape {actual.shape}, PyTorch '
                           f'{expected.shape}, for a {shape[0]}x{shape[1]} input')
    return Parity(float(np.abs(actual - expected).max()), float(np.abs(expected).max()))


def float32_rounding_error(segmentor: nn.Module, shape: Tuple[int, int], batch_size: int = 1,
                           seed: int = 0) -> float:
    """Largest difference between PyTorch's float32 and float64 logits on the input of
    :func:`backend_parity` (same arguments): the scale of float32 rounding in the network.

    Args:
        segmentor (nn.Module): The PyTorch segmentor.
        shape (tuple[int, int]): Input height and width.
        batch_size (int): Batch size. Default: 1.
        seed (int): Seed of the random input. Default: 0.
    """
    img = random_images(batch_size, shape, seed)
    single = _torch_logits(segmentor, img).double()
    double = _torch_logits(copy.deepcopy(segmentor).double(), img.double())
    return float((single - double).abs().max())


@torch.no_grad()
def _torch_logits(segmentor: nn.Module, img: torch.Tensor) -> torch.Tensor:
    """The eval-mode segmentor's exported function on ``img``, on the segmentor's device."""
    return SegmentorForExport(segmentor.eval())(img.to(next(segmentor.parameters()).device))
