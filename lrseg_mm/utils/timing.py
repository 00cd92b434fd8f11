"""The project's one timer: callables timed round-robin, and the paired ratio of two.

``tools/benchmark.py`` times one model with :func:`round_robin`, the scripts of
``benchmarks/`` several at once. Every round calls each callable once, in a freshly shuffled
order, so that load from other processes hits them alike; each call is timed as wall time
and as this process's CPU time (with one torch thread, what the call costs an idle core).
``torch.utils.benchmark.Timer`` times one statement at a time, in wall time only, so it can
neither pair the rounds of several models nor give CPU time; its place is a single kernel.
"""
import math
import os
import platform
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median over rounds of ``numerator[r] / denominator[r]``.

    For two models timed in the same rounds of :func:`round_robin`: each round's pair saw
    the same background load, so the per-round ratio cancels most of it.

    Raises:
        ValueError: If the series differ in length or are empty.
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


def round_robin(calls: Dict[str, Callable[[], object]],
                rounds: int,
                warmup: int = 0,
                budget_s: Optional[float] = None,
                min_rounds: int = 3,
                seed: int = 0,
                drop_failures: bool = False,
                progress: bool = False,
                desc: str = 'rounds') -> RoundRobinTimes:
    """Call every callable once per round, in a shuffled order, and time each call.

    Args:
        calls (dict[str, callable]): Name -> argument-less callable; one that runs on a GPU
            synchronises the device itself (as ``InferenceRunner`` does).
        rounds (int): Timed rounds at most (>= 1).
        warmup (int): Untimed rounds first (>= 0). Default: 0.
        budget_s (float, optional): Stop after this many seconds of timed rounds, once
            ``min_rounds`` are done. Default: no limit.
        min_rounds (int): Timed rounds done whatever ``budget_s`` says. Default: 3.
        seed (int): Seed of the shuffling. Default: 0.
        drop_failures (bool): A callable that raises is dropped (and named in ``failed``)
            instead of ending the measurement. Default: False.
        progress (bool): Show a tqdm bar with the running median. Default: False.
        desc (str): Label of the bar.

    Returns:
        RoundRobinTimes: Per-call seconds of the timed rounds.
    """
    if rounds < 1 or warmup < 0:
        raise ValueError(f'need rounds >= 1 and warmup >= 0, got {rounds} and {warmup}')
    from tqdm import tqdm
    calls = dict(calls)
    times = RoundRobinTimes({n: [] for n in calls}, {n: [] for n in calls})
    shuffler = random.Random(seed)
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
    """Statistics of per-call latencies given in seconds: ``iters``, ``mean_ms``,
    ``median_ms``, ``std_ms`` (sample, n - 1; 0 for one call), ``min_ms``, ``fps`` (images
    per second at the mean latency, the toolbox's definition), ``fps_median`` and
    ``times_ms``.

    Raises:
        ValueError: If there are no times, a time is not a positive finite number, or the
            batch size is not positive.
    """
    if not seconds:
        raise ValueError('latency_stats needs at least one timed call')
    bad = [t for t in seconds if not (isinstance(t, (int, float)) and math.isfinite(t) and t > 0)]
    if bad:
        raise ValueError(f'latencies must be positive finite seconds, got {bad[:3]}')
    if batch_size < 1:
        raise ValueError(f'batch_size must be >= 1, got {batch_size}')
    ms = [t * 1e3 for t in seconds]
    mean, median = statistics.fmean(ms), statistics.median(ms)
    return dict(batch_size=batch_size, iters=len(ms), mean_ms=mean, median_ms=median,
                std_ms=statistics.stdev(ms) if len(ms) > 1 else 0.0, min_ms=min(ms),
                fps=fps_from_latency(mean, batch_size),
                fps_median=fps_from_latency(median, batch_size), times_ms=ms)


def fps_from_latency(latency_ms: float, batch_size: int = 1) -> float:
    """Images per second of calls taking ``latency_ms`` each on ``batch_size`` images."""
    if not latency_ms > 0:
        raise ValueError(f'latency must be positive, got {latency_ms} ms')
    return batch_size * 1e3 / latency_ms


def toolbox_fps(seconds: Sequence[float]) -> float:
    """FPS as mmseg's ``benchmark.py`` computes it from the timed calls (warm-up excluded,
    batch size 1): calls / their total time."""
    if not seconds:
        raise ValueError('toolbox_fps needs at least one timed call')
    return len(seconds) / sum(seconds)


def cpu_model_name() -> str:
    """The CPU's model string from /proc/cpuinfo (the platform's name where there is none),
    printed by every benchmark so that figures say on which CPU they were taken."""
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def device_description(device: str = 'cpu') -> str:
    """The GPU's name, or the CPU's with its core count and torch's thread count."""
    if str(device).startswith('cuda'):
        return f'{torch.cuda.get_device_name(torch.device(device))} (CUDA {torch.version.cuda})'
    return (f'{cpu_model_name()} ({os.cpu_count()} cores, torch threads: '
            f'{torch.get_num_threads()})')
