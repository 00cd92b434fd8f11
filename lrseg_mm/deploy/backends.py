"""The one place that builds ONNX Runtime and OpenVINO sessions; a segmentor's exported
function (:mod:`lrseg_mm.deploy.export`) run on eager PyTorch or either runtime.

Settings, for a latency-minded deployment on a CPU: ONNX Runtime with its CPU provider,
``intra_op_num_threads = threads``, sequential execution (``threads`` is the whole budget)
and all graph optimisations; OpenVINO on ``CPU`` with ``INFERENCE_NUM_THREADS = threads``,
``PERFORMANCE_HINT = LATENCY`` and ``INFERENCE_PRECISION_HINT = f32`` (CPUs with bfloat16
support would otherwise compute in bfloat16; INT8 graphs still run in INT8); PyTorch eager
under ``torch.no_grad()``, ``threads`` setting ``torch.set_num_threads``.
"""
import os.path as osp
import tempfile
from typing import Callable, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from .export import SegmentorForExport, cached_export
from .metadata import is_openvino_ir

BACKENDS = ('pytorch', 'onnxruntime', 'openvino')


def check_backend(backend: str) -> str:
    """``backend`` if it is one of :data:`BACKENDS`, else a ValueError naming them."""
    if backend not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; choose one of {", ".join(BACKENDS)}')
    return backend


def import_backend(backend: str):
    """The runtime package of ``backend``; an ImportError with the ``pip install`` command
    if it is not installed."""
    if check_backend(backend) == 'pytorch':
        return torch
    try:
        return __import__(backend)
    except ImportError as error:
        raise ImportError(f'backend {backend!r} needs the {backend} package, which is not '
                          f'installed: pip install {backend}') from error


def onnxruntime_session(onnx_file: str, threads: Optional[int] = None, profile: bool = False):
    """An ONNX Runtime CPU session with the settings of this module's docstring; with
    ``profile``, its profiler on (``session.end_profiling()`` names the trace file, in the
    system's temporary folder)."""
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
    """An OpenVINO CPU compiled model of an ONNX file or IR, with the settings of this
    module's docstring; with ``profile``, per-node performance counters on
    (``request.profiling_info``)."""
    ov = import_backend('openvino')
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32',
              'PERF_COUNT': profile}
    if threads is not None:
        config['INFERENCE_NUM_THREADS'] = str(threads)
    core = ov.Core()
    return core.compile_model(core.read_model(model_file), 'CPU', config)


class DeployedModel:
    """A segmentor's logits function on one backend: ``model(img) -> logits``.

    Call with a normalised float32 batch ``(N, 3, H, W)`` (numpy array or tensor); the
    result is a numpy array ``(N, num_classes, H, W)``. A static graph accepts only its
    traced shape.

    Args:
        backend (str): One of :data:`BACKENDS`.
        fn (callable): numpy float32 batch -> numpy logits.
        threads (int, optional): CPU threads the backend was built with.
        onnx_file (str, optional): The file the backend runs (None for PyTorch).
    """

    def __init__(self, backend: str, fn: Callable[[np.ndarray], np.ndarray],
                 threads: Optional[int] = None, onnx_file: Optional[str] = None):
        self.backend, self.fn, self.threads, self.onnx_file = backend, fn, threads, onnx_file

    def __call__(self, img) -> np.ndarray:
        if isinstance(img, torch.Tensor):
            img = img.detach().cpu().numpy()
        img = np.ascontiguousarray(img, dtype=np.float32)
        if img.ndim != 4 or img.shape[1] != 3:
            raise ValueError(f'expected a (N, 3, H, W) image batch, got shape {img.shape}')
        return self.fn(img)


def build_backend(backend: str,
                  segmentor: Optional[nn.Module] = None,
                  shape: Optional[Tuple[int, int]] = None,
                  batch_size: int = 1,
                  threads: Optional[int] = None,
                  onnx_file: Optional[str] = None,
                  cache_dir: Optional[str] = None) -> DeployedModel:
    """A callable running a segmentor's logits on ``backend``.

    Args:
        backend (str): 'pytorch', 'onnxruntime' or 'openvino'.
        segmentor (nn.Module, optional): The segmentor. Needed for 'pytorch', and for the
            others when no ``onnx_file`` is given (it is then exported with a static
            ``shape`` by :func:`~lrseg_mm.deploy.cached_export`).
        shape (tuple[int, int], optional): Input (H, W) of the export.
        batch_size (int): Batch size of the export. Default: 1.
        threads (int, optional): CPU threads of the backend. Default: its own choice.
        onnx_file (str, optional): Run this ONNX file (or, for 'openvino', IR) instead of
            exporting ``segmentor``.
        cache_dir (str, optional): Where exports are cached.

    Raises:
        ValueError: For an unknown backend, a bad thread count, missing arguments or an
            OpenVINO IR given to 'onnxruntime'.
        FileNotFoundError: If ``onnx_file`` does not exist.
        ImportError: If the backend's package is not installed (with the pip command).
    """
    check_backend(backend)
    if threads is not None and threads < 1:
        raise ValueError(f'threads must be >= 1, got {threads}')
    if backend == 'pytorch':
        if segmentor is None:
            raise ValueError("backend 'pytorch' needs the segmentor")
        if threads is not None:
            torch.set_num_threads(threads)
        forward = SegmentorForExport(segmentor.eval())
        device = next(segmentor.parameters()).device

        def run_pytorch(img: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                return forward(torch.from_numpy(img).to(device)).cpu().numpy()

        return DeployedModel(backend, run_pytorch, threads)
    import_backend(backend)  # a missing package fails before a costly export
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
