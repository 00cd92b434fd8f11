"""Inference calls of segmentors on random input, to be timed.

Used by ``tools/benchmark.py`` and ``benchmarks/``, timed by
:func:`lrseg_mm.utils.timing.round_robin`. What is timed is one call of an inference function
on a fixed random batch that is already on the device (no data loading, no preprocessing),
between two device synchronisations. The functions (:data:`MODES`):

* ``'logits'``: ``model.encode_decode(img, metas)``, the network plus the resize of the
  logits to the input size (whole-image inference; what the ONNX export contains);
* ``'predict'``: ``model.predict(img, data_samples)``, the toolbox's inference as its own
  ``benchmark.py`` times it (adds the label-map argmax and packing, and follows
  ``test_cfg`` such as sliding windows);
* ``'tensor'``: ``model(img, mode='tensor')``, the raw head output at the head's stride.
"""
import warnings
from dataclasses import dataclass, field
from typing import Callable, List, Tuple

import torch
import torch.nn as nn

MODES = ('logits', 'predict', 'tensor')

# mmseg's tools/analysis_tools/benchmark.py: 200 batches of one image, the first 5 untimed.
TOOLBOX_TOTAL_ITERS = 200
TOOLBOX_WARMUP = 5


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on CPU, whose ops are synchronous)."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def image_metas(shape: Tuple[int, int], batch_size: int) -> List[dict]:
    """Meta information of an unpadded batch of ``shape`` images."""
    h, w = shape
    return [dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                 padding_size=[0, 0, 0, 0]) for _ in range(batch_size)]


def inference_function(model: nn.Module, mode: str, shape: Tuple[int, int],
                       batch_size: int) -> Callable[[torch.Tensor], object]:
    """The function of one of :data:`MODES` for a segmentor and a batch shape."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    metas = image_metas(shape, batch_size)
    if mode == 'logits':
        if not hasattr(model, 'encode_decode'):
            raise ValueError(f"mode 'logits' needs an EncoderDecoder-style segmentor; "
                             f'{type(model).__name__} has no encode_decode')
        return lambda img: model.encode_decode(img, metas)
    if mode == 'tensor':
        return lambda img: model(img, mode='tensor')
    from mmseg.structures import SegDataSample
    samples = [SegDataSample(metainfo=meta) for meta in metas]
    return lambda img: model(img, samples, mode='predict')


class CudaGraphCallable:
    """Replays one CUDA-graph capture of ``fn`` on a static input buffer.

    ``fn`` must be a pure tensor function of fixed shapes (modes 'logits' and 'tensor').
    Calling copies the input into the static buffer and replays the graph; the returned
    output tensor is overwritten by the next call.
    """

    def __init__(self, fn: Callable, example: torch.Tensor, warmup: int = 3):
        if example.device.type != 'cuda':
            raise ValueError('CUDA graphs need a CUDA input; use --device cuda')
        self.static_input = example.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), torch.no_grad():
            for _ in range(warmup):  # lazy initialisations must not happen inside capture
                fn(self.static_input)
        torch.cuda.current_stream().wait_stream(stream)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph), torch.no_grad():
            self.static_output = fn(self.static_input)

    def __call__(self, img: torch.Tensor):
        self.static_input.copy_(img)
        self.graph.replay()
        return self.static_output


def _compiled_with_freezing(fn: Callable) -> Callable:
    """``torch.compile(fn)`` whose compilations run with Inductor's ``freezing`` on.

    Freezing is read from Inductor's config when a graph is compiled, which happens inside
    a call (the first, and any recompilation); ``torch.compile(options=...)`` did not turn
    it on here (measured: no speed-up), so every call runs under the config patch.
    """
    import torch._inductor.config as inductor_config
    compiled = torch.compile(fn)

    def call(*args):
        with inductor_config.patch(freezing=True):
            return compiled(*args)

    return call


@dataclass
class InferenceRunner:
    """One synchronised inference call of a segmentor on a fixed random batch.

    Building the runner puts the model in eval mode and on the device and applies the
    precision/layout options; each call runs one inference between two device
    synchronisations and returns its output (for :func:`lrseg_mm.utils.timing.round_robin`).

    Args:
        model (nn.Module): Segmentor (moved and converted in place).
        shape (tuple[int, int]): Input (H, W).
        batch_size (int): Images per call. Default: 1.
        device (str): 'cpu' or 'cuda' (or 'cuda:N'). Default: 'cpu'.
        mode (str): One of :data:`MODES`. Default: 'logits'.
        fp16 (bool): Half-precision weights and input (``model.half()``). Default: False.
        channels_last (bool): Channels-last memory format for weights and input.
            Default: False.
        cuda_graph (bool): Capture the call once and replay it (CUDA only; modes 'logits'
            and 'tensor'). Default: False.
        compiled (bool): Run the call through ``torch.compile`` (Inductor) with
            ``freezing`` on: the weights become constants, so Inductor folds eval-mode BN
            into the convolutions and pre-packs their weights. The first call compiles
            (tens of seconds for a whole segmentor); mode 'predict' is not supported.
            Default: False.
        seed (int): Seed of the random input. Default: 0.
    """
    model: nn.Module
    shape: Tuple[int, int]
    batch_size: int = 1
    device: str = 'cpu'
    mode: str = 'logits'
    fp16: bool = False
    channels_last: bool = False
    cuda_graph: bool = False
    compiled: bool = False
    seed: int = 0
    fn: Callable = field(init=False, repr=False)
    inputs: torch.Tensor = field(init=False, repr=False)

    def __post_init__(self):
        h, w = self.shape
        if h < 1 or w < 1:
            raise ValueError(f'input shape must be positive, got {self.shape}')
        if self.batch_size < 1:
            raise ValueError(f'batch size must be >= 1, got {self.batch_size}')
        if str(self.device).split(':')[0] not in ('cpu', 'cuda'):
            raise ValueError(f'device must be cpu or cuda, got {self.device!r}')
        self.device = torch.device(self.device)
        if self.device.type == 'cuda' and not torch.cuda.is_available():
            raise ValueError('--device cuda was asked for but CUDA is not available')
        if self.compiled and (self.cuda_graph or self.mode == 'predict'):
            raise ValueError("torch.compile needs mode 'logits' or 'tensor' and no CUDA-graph "
                             "replay of ours (Inductor's mode='reduce-overhead' has its own)")
        if self.cuda_graph and self.device.type != 'cuda':
            raise ValueError('CUDA-graph replay needs --device cuda')
        if self.cuda_graph and self.mode == 'predict':
            raise ValueError("CUDA-graph replay needs a pure tensor function: use mode "
                             "'logits' or 'tensor', not 'predict'")
        if self.fp16 and self.device.type == 'cpu':
            warnings.warn('fp16 on CPU runs, but CPU half-precision kernels are slow '
                          'emulations; it is not a deployment setting')
        model = self.model.to(self.device).eval()
        if self.fp16:
            model = model.half()
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        generator = torch.Generator().manual_seed(self.seed)
        inputs = torch.randn(self.batch_size, 3, h, w, generator=generator)
        inputs = inputs.to(self.device, torch.float16 if self.fp16 else torch.float32)
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        self.inputs = inputs
        fn = inference_function(model, self.mode, (h, w), self.batch_size)
        if self.compiled:
            fn = _compiled_with_freezing(fn)
        self.fn = CudaGraphCallable(fn, inputs) if self.cuda_graph else fn

    def __call__(self):
        synchronize(self.device)
        with torch.no_grad():
            output = self.fn(self.inputs)
        synchronize(self.device)
        return output
