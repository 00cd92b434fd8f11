"""The project's one timer (``tools/benchmark.py``, ``benchmarks/``): :func:`round_robin`
calls each callable once per round in a shuffled order, so that background load hits them
alike, and times each call in wall and CPU time (``torch.utils.benchmark.Timer`` can
neither pair several models' rounds nor give CPU time). :class:`InferenceRunner` is one
call on a fixed random batch, between device synchronisations, of one of :data:`MODES`:

* ``'logits'``: ``model.encode_decode(img, metas)``, the network plus the resize of the
  logits to the input size (what the ONNX export contains);
* ``'predict'``: ``model.predict``, the toolbox's inference as its ``benchmark.py`` times it
  (adds argmax and packing, follows ``test_cfg`` such as sliding windows);
* ``'tensor'``: ``model(img, mode='tensor')``, the raw head output at the head's stride.
"""
import math
import os
import platform
import random
import statistics
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

MODES = ('logits', 'predict', 'tensor')

# mmseg's tools/analysis_tools/benchmark.py: 200 batches of one image, the first 5 untimed.
TOOLBOX_TOTAL_ITERS = 200
TOOLBOX_WARMUP = 5


def _inference_function(model: nn.Module, mode: str, shape: Tuple[int, int],
                        batch_size: int) -> Callable[[torch.Tensor], object]:
    """The function of one of :data:`MODES` for a segmentor and an unpadded batch shape."""
    if mode not in MODES:
        raise ValueError(f'mode must be one of {MODES}, got {mode!r}')
    metas = [dict(img_shape=shape, ori_shape=shape, pad_shape=shape,
                  padding_size=[0, 0, 0, 0]) for _ in range(batch_size)]
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


def _cuda_graph(fn: Callable, example: torch.Tensor, warmup: int = 3) -> Callable:
    """``fn`` captured once as a CUDA graph: a call copies its input into the static
    buffer and replays (the output tensor is overwritten by the next call)."""
    static_input = example.clone()
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream), torch.no_grad():
        for _ in range(warmup):  # lazy initialisations must not happen inside capture
            fn(static_input)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph), torch.no_grad():
        static_output = fn(static_input)

    def replay(img: torch.Tensor):
        static_input.copy_(img)
        graph.replay()
        return static_output

    return replay


def _compiled_with_freezing(fn: Callable) -> Callable:
    """``torch.compile(fn)`` run under Inductor's ``freezing`` (read at each compilation,
    which happens inside a call; ``options=`` did not turn it on)."""
    import torch._inductor.config as inductor_config
    compiled = torch.compile(fn)

    def call(*args):
        with inductor_config.patch(freezing=True):
            return compiled(*args)

    return call


@dataclass
class InferenceRunner:
    """One synchronised inference call (returning its output) of a segmentor, put in eval
    mode on the device, on a fixed random batch.

    Args:
        model (nn.Module): Segmentor (moved and converted in place).
        shape (tuple[int, int]): Input (H, W).
        batch_size (int): Images per call. Default: 1.
        device (str): 'cpu' or 'cuda' (or 'cuda:N'). Default: 'cpu'.
        mode (str): One of :data:`MODES`. Default: 'logits'.
        fp16 (bool): Half-precision weights and input. Default: False.
        channels_last (bool): Channels-last weights and input. Default: False.
        cuda_graph (bool): Capture the call once and replay it (CUDA). Default: False.
        compiled (bool): ``torch.compile`` (Inductor) with ``freezing`` on, which folds BN
            into the convolutions; the first call compiles. Default: False.
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
        if self.cuda_graph and (self.device.type != 'cuda' or self.mode == 'predict'):
            raise ValueError("CUDA-graph replay needs --device cuda and a pure tensor "
                             "function: mode 'logits' or 'tensor'")
        if self.fp16 and self.device.type == 'cpu':
            warnings.warn('fp16 on CPU runs, but CPU half-precision kernels are slow '
                          'emulations; it is not a deployment setting')
        model = self.model.to(self.device).eval()
        if self.fp16:
            model = model.half()
        layout = torch.channels_last if self.channels_last else torch.contiguous_format
        if self.channels_last:
            model = model.to(memory_format=layout)
        inputs = torch.randn(self.batch_size, 3, h, w,
                             generator=torch.Generator().manual_seed(0))
        self.inputs = inputs.to(self.device, torch.float16 if self.fp16 else torch.float32
                                ).contiguous(memory_format=layout)
        fn = _inference_function(model, self.mode, (h, w), self.batch_size)
        if self.compiled:
            fn = _compiled_with_freezing(fn)
        self.fn = _cuda_graph(fn, self.inputs) if self.cuda_graph else fn

    def __call__(self):
        cuda = self.device.type == 'cuda'  # CPU ops are synchronous
        if cuda:
            torch.cuda.synchronize(self.device)
        with torch.no_grad():
            output = self.fn(self.inputs)
        if cuda:
            torch.cuda.synchronize(self.device)
        return output


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median over rounds of ``numerator[r] / denominator[r]``: for two models timed in the
    same rounds, each round's pair saw the same background load, which the ratio cancels.

    Args:
        numerator (Sequence[float]): Per-round times of one model.
        denominator (Sequence[float]): Per-round times of the other, as many.
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError(f'paired_ratio needs two equally long, non-empty series, got '
                         f'{len(numerator)} and {len(denominator)}')
    return statistics.median(a / b for a, b in zip(numerator, denominator))


@dataclass
class RoundRobinTimes:
    """Seconds of every timed call of :func:`round_robin`, by callable name.

    Attributes:
        wall (dict[str, list[float]]): Wall time of each timed call.
        cpu (dict[str, list[float]]): This process's CPU time of the same calls.
        rounds (int): Timed rounds done.
        failed (dict[str, str]): Callables dropped because they raised, with the error.
    """
    wall: Dict[str, List[float]]
    cpu: Dict[str, List[float]]
    rounds: int = 0
    failed: Dict[str, str] = field(default_factory=dict)

    def median_ms(self, name: str, clock: str = 'cpu') -> float:
        """Median milliseconds of one callable on ``clock`` ('cpu' or 'wall')."""
        return 1e3 * statistics.median(getattr(self, clock)[name])

    def ratio(self, name: str, reference: str, clock: str = 'cpu') -> Optional[float]:
        """:func:`paired_ratio` of two callables (None where one was not timed)."""
        series = getattr(self, clock)
        if not series.get(name) or not series.get(reference):
            return None
        return paired_ratio(series[name], series[reference])


def round_robin(calls: Dict[str, Callable[[], object]], rounds: int, warmup: int = 0,
                budget_s: Optional[float] = None, min_rounds: int = 3,
                drop_failures: bool = False, progress: bool = False,
                desc: str = 'rounds') -> RoundRobinTimes:
    """Call every callable once per round, in a shuffled order, and time each call.

    Args:
        calls (dict[str, callable]): Name -> argument-less callable; one that runs on a GPU
            synchronises the device itself (as :class:`InferenceRunner` does).
        rounds (int): Timed rounds at most (>= 1).
        warmup (int): Untimed rounds first (>= 0). Default: 0.
        budget_s (float, optional): Stop after this many seconds of timed rounds, once
            ``min_rounds`` are done. Default: no limit.
        min_rounds (int): Timed rounds done whatever ``budget_s`` says. Default: 3.
        drop_failures (bool): Drop a callable that raises (named in ``failed``) instead of
            stopping. Default: False.
        progress (bool): Show a tqdm bar with the running median. Default: False.
        desc (str): Label of the bar.
    """
    if rounds < 1 or warmup < 0:
        raise ValueError(f'need rounds >= 1 and warmup >= 0, got {rounds} and {warmup}')
    from tqdm import tqdm
    calls = dict(calls)
    times = RoundRobinTimes({n: [] for n in calls}, {n: [] for n in calls})
    shuffler = random.Random(0)
    start = None
    with tqdm(total=warmup + rounds, desc=desc, disable=not progress, unit='round',
              dynamic_ncols=True) as bar:
        for r in range(warmup + rounds):
            timed = r >= warmup
            if r == warmup:
                start = time.perf_counter()
            order = list(calls)
            shuffler.shuffle(order)  # no callable always runs right after the same one
            for name in order:
                wall, cpu = time.perf_counter(), time.process_time()
                try:
                    calls[name]()
                except Exception as error:
                    if not drop_failures:
                        raise
                    times.failed[name] = repr(error)
                    del calls[name], times.wall[name], times.cpu[name]
                    continue
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                if timed:
                    times.wall[name].append(wall)
                    times.cpu[name].append(cpu)
            times.rounds += timed
            if timed and len(calls) == 1:
                bar.set_postfix_str(f'{times.median_ms(next(iter(calls)), "wall"):.1f} ms')
            bar.update()
            if (timed and budget_s is not None and times.rounds >= min_rounds
                    and time.perf_counter() - start > budget_s):
                break
    return times


def latency_stats(seconds: Sequence[float], batch_size: int = 1) -> dict:
    """Statistics of per-call latencies: ``iters``, ``mean_ms``, ``median_ms``, ``std_ms``
    (sample, n - 1; 0 for one call), ``min_ms``, ``fps`` (images per second at the mean
    latency, the toolbox's definition), ``fps_median`` and ``times_ms``.

    Args:
        seconds (Sequence[float]): Positive, finite per-call times in seconds.
        batch_size (int): Images per call (>= 1). Default: 1.
    """
    valid = all(isinstance(t, (int, float)) and math.isfinite(t) and t > 0 for t in seconds)
    if not (seconds and valid and batch_size >= 1):
        raise ValueError(f'latency_stats needs positive finite seconds (got {list(seconds)[:3]}'
                         f'...) and batch_size >= 1 (got {batch_size})')
    ms = [t * 1e3 for t in seconds]
    mean, median = statistics.fmean(ms), statistics.median(ms)
    return dict(batch_size=batch_size, iters=len(ms), mean_ms=mean, median_ms=median,
                std_ms=statistics.stdev(ms) if len(ms) > 1 else 0.0, min_ms=min(ms),
                fps=batch_size * 1e3 / mean, fps_median=batch_size * 1e3 / median,
                times_ms=ms)


def toolbox_fps(seconds: Sequence[float]) -> float:
    """FPS as mmseg's ``benchmark.py`` computes it from the ``seconds`` of the timed calls
    (warm-up excluded, batch size 1): calls / their total time."""
    if not seconds:
        raise ValueError('toolbox_fps needs at least one timed call')
    return len(seconds) / sum(seconds)


def cpu_model_name() -> str:
    """The CPU's model string from /proc/cpuinfo (the platform's name where there is none)."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def device_description(device: str = 'cpu') -> str:
    """The GPU's name for a ``device`` 'cuda[:N]', else the CPU's with its core count and
    torch's thread count."""
    if str(device).startswith('cuda'):
        return f'{torch.cuda.get_device_name(torch.device(device))} (CUDA {torch.version.cuda})'
    return (f'{cpu_model_name()} ({os.cpu_count()} cores, torch threads: '
            f'{torch.get_num_threads()})')
