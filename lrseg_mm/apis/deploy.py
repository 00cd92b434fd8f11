"""Run a segmentor through a deployment backend: eager PyTorch, ONNX Runtime or OpenVINO.

Every backend runs the same function, the exported graph of
:func:`lrseg_mm.apis.export.export_onnx` (``encode_decode``: network + resize of the logits
to the input size, on a *normalised* image batch): PyTorch calls
:class:`~lrseg_mm.apis.export.SegmentorForExport` eagerly, the others load the ONNX file the
existing exporter writes (once, to a cache folder) or a given file (e.g. an INT8 model from
``tools/quantize_onnx.py``; OpenVINO also runs an OpenVINO IR, ``.xml``, such as the NNCF
INT8 model of :func:`lrseg_mm.apis.quantize.quantize_int8_openvino`). So a latency ratio
between backends, or between models on one backend, compares the same computation; the peer
table exports every model the same way.

Backend settings (what a latency-minded deployment on a CPU uses):

* ``onnxruntime``: CPU execution provider, ``intra_op_num_threads = threads``, sequential
  execution (one operator at a time, so ``threads`` is the whole budget), all graph
  optimisations (``ORT_ENABLE_ALL``: constant folding, conv-BN/activation fusion, layout
  transforms).
* ``openvino``: ``CPU`` device, ``INFERENCE_NUM_THREADS = threads``, ``PERFORMANCE_HINT =
  LATENCY`` (one stream), ``INFERENCE_PRECISION_HINT = f32``: on CPUs with AVX-512-BF16 or
  AMX OpenVINO otherwise computes in bfloat16 by default, which would be a different
  precision from every other column. Quantised graphs (ONNX QDQ, or an IR with NNCF's
  ``FakeQuantize``) still run in INT8.
* ``pytorch``: the eager model under ``torch.no_grad()``; the thread count is torch's
  process-wide setting (``torch.set_num_threads``), set when the backend is built.
"""
import hashlib
import os
import os.path as osp
import tempfile
import time
from typing import Callable, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn as nn

from .export import SegmentorForExport, _check_shape, export_onnx

BACKENDS = ('pytorch', 'onnxruntime', 'openvino')
INSTALL_HINT = {'onnxruntime': 'pip install onnxruntime', 'openvino': 'pip install openvino'}

ArrayLike = Union[np.ndarray, torch.Tensor]


def check_backend(backend: str) -> str:
    """Return ``backend`` if it is one of :data:`BACKENDS`.

    Raises:
        ValueError: Naming the known backends, for anything else.
    """
    if backend not in BACKENDS:
        raise ValueError(f'unknown backend {backend!r}; choose one of {", ".join(BACKENDS)}')
    return backend


def import_backend(backend: str):
    """Import the runtime package of ``backend`` ('onnxruntime' or 'openvino').

    Raises:
        ImportError: Saying which ``pip install`` provides it, if it is not installed.
    """
    check_backend(backend)
    if backend == 'pytorch':
        return torch
    try:
        if backend == 'onnxruntime':
            import onnxruntime
            return onnxruntime
        import openvino
        return openvino
    except ImportError as error:
        raise ImportError(f'backend {backend!r} needs the {backend} package, which is not '
                          f'installed: {INSTALL_HINT[backend]}') from error


def cached_export(segmentor: nn.Module,
                  shape: Tuple[int, int],
                  batch_size: int = 1,
                  cache_dir: Optional[str] = None,
                  name: str = 'model') -> str:
    """Export ``segmentor`` with a static input shape, once per model, shape and weights.

    The file name holds a digest of the shape and the weights, so a second call with the
    same model returns the existing file; a changed model is exported anew.

    Args:
        segmentor (nn.Module): The segmentor (eval mode).
        shape (tuple[int, int]): Input (H, W) of the static graph.
        batch_size (int): Batch size of the static graph. Default: 1.
        cache_dir (str, optional): Folder of the files. Default: ``lrseg_mm_onnx`` in the
            system's temporary folder.
        name (str): File name prefix. Default: 'model'.

    Returns:
        str: Path of the ``.onnx`` file.
    """
    h, w = _check_shape(shape)
    digest = hashlib.sha1(f'{type(segmentor).__name__} {batch_size} {h} {w}'.encode())
    for key, value in segmentor.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    cache_dir = cache_dir or osp.join(tempfile.gettempdir(), 'lrseg_mm_onnx')
    path = osp.join(cache_dir, f'{name}-b{batch_size}-{h}x{w}-{digest.hexdigest()[:12]}.onnx')
    if not osp.isfile(path):
        os.makedirs(cache_dir, exist_ok=True)
        partial = f'{path}.{os.getpid()}.tmp'
        export_onnx(segmentor, partial, (h, w), dynamic=False, batch_size=batch_size)
        os.replace(partial, path)  # never leave a half-written file under the final name
    return path


class DeployedModel:
    """A segmentor's logits function on one backend: ``model(img) -> logits``.

    Call with a normalised float32 batch ``(N, 3, H, W)`` (numpy array or CPU tensor); the
    result is a numpy array ``(N, num_classes, H, W)``. A static graph accepts only its
    traced shape.

    Args:
        backend (str): One of :data:`BACKENDS`.
        fn (callable): numpy float32 batch -> numpy logits.
        threads (int, optional): CPU threads the backend was built with.
        onnx_file (str, optional): The file the backend runs, an ONNX file or an OpenVINO
            IR (None for PyTorch).
    """

    def __init__(self, backend: str, fn: Callable[[np.ndarray], np.ndarray],
                 threads: Optional[int] = None, onnx_file: Optional[str] = None):
        self.backend = backend
        self.fn = fn
        self.threads = threads
        self.onnx_file = onnx_file

    def __call__(self, img: ArrayLike) -> np.ndarray:
        if isinstance(img, torch.Tensor):
            img = img.detach().cpu().numpy()
        img = np.ascontiguousarray(img, dtype=np.float32)
        if img.ndim != 4 or img.shape[1] != 3:
            raise ValueError(f'expected a (N, 3, H, W) image batch, got shape {img.shape}')
        return self.fn(img)

    def __repr__(self):
        return (f'DeployedModel(backend={self.backend!r}, threads={self.threads}, '
                f'onnx_file={self.onnx_file!r})')


def onnxruntime_session(onnx_file: str, threads: Optional[int] = None):
    """An ONNX Runtime CPU session with the latency settings of this module's docstring."""
    ort = import_backend('onnxruntime')
    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(onnx_file, options, providers=['CPUExecutionProvider'])


def openvino_compiled_model(onnx_file: str, threads: Optional[int] = None):
    """An OpenVINO CPU compiled model with the latency settings of this module's docstring.

    ``onnx_file`` is an ONNX file or an OpenVINO IR (``.xml``, weights in the ``.bin``
    beside it); ``Core.read_model`` reads both.
    """
    ov = import_backend('openvino')
    config = {'PERFORMANCE_HINT': 'LATENCY', 'INFERENCE_PRECISION_HINT': 'f32'}
    if threads is not None:
        config['INFERENCE_NUM_THREADS'] = str(threads)
    core = ov.Core()
    return core.compile_model(core.read_model(onnx_file), 'CPU', config)


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
            ``shape`` by :func:`cached_export`).
        shape (tuple[int, int], optional): Input (H, W) of the export.
        batch_size (int): Batch size of the export. Default: 1.
        threads (int, optional): CPU threads of the backend (for 'pytorch',
            ``torch.set_num_threads``). Default: the backend's own choice.
        onnx_file (str, optional): Run this ONNX file instead of exporting ``segmentor``;
            for 'openvino', an OpenVINO IR (``.xml``) too.
        cache_dir (str, optional): Where exports are cached (see :func:`cached_export`).

    Returns:
        DeployedModel: ``model(img) -> logits`` as a numpy array.

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
    elif backend == 'onnxruntime' and onnx_file.lower().endswith('.xml'):
        raise ValueError(f'{onnx_file} is an OpenVINO IR, which onnxruntime cannot run; use '
                         "backend 'openvino', or give onnxruntime an .onnx file")
    if backend == 'onnxruntime':
        session = onnxruntime_session(onnx_file, threads)
        input_name = session.get_inputs()[0].name
        output_name = session.get_outputs()[0].name

        def run_onnxruntime(img: np.ndarray) -> np.ndarray:
            return session.run([output_name], {input_name: img})[0]

        return DeployedModel(backend, run_onnxruntime, threads, onnx_file)
    compiled = openvino_compiled_model(onnx_file, threads)
    request = compiled.create_infer_request()

    def run_openvino(img: np.ndarray) -> np.ndarray:
        request.infer({0: img})
        return request.get_output_tensor(0).data.copy()

    return DeployedModel(backend, run_openvino, threads, onnx_file)


class DeployedRunner:
    """One timed call of a :class:`DeployedModel` on a fixed random normal batch.

    The counterpart of :class:`lrseg_mm.utils.InferenceRunner` for the backends: the input
    is made once (the same seed gives the same batch), each call returns the wall time of
    one inference in seconds. CPU only, so no device synchronisation is needed.

    Args:
        model (DeployedModel): The backend callable.
        shape (tuple[int, int]): Input (H, W).
        batch_size (int): Images per call. Default: 1.
        seed (int): Seed of the random input. Default: 0.
    """

    def __init__(self, model: DeployedModel, shape: Tuple[int, int], batch_size: int = 1,
                 seed: int = 0):
        h, w = _check_shape(shape)
        if batch_size < 1:
            raise ValueError(f'batch size must be >= 1, got {batch_size}')
        self.model = model
        generator = torch.Generator().manual_seed(seed)
        self.inputs = torch.randn(batch_size, 3, h, w, generator=generator).numpy()

    def __call__(self) -> float:
        start = time.perf_counter()
        self.model(self.inputs)
        return time.perf_counter() - start

    def output(self) -> np.ndarray:
        """The output of one call (e.g. to check what is being timed)."""
        return self.model(self.inputs)


__all__ = ['BACKENDS', 'DeployedModel', 'DeployedRunner', 'build_backend', 'cached_export',
           'check_backend', 'import_backend', 'onnxruntime_session', 'openvino_compiled_model']
