"""Helpers of the benchmark scripts only: memory peaks, paired ratios, BN folding for the
toolbox's peer models, and editing the generated blocks of BENCHMARKS.md.

The package keeps what ``tools/benchmark.py`` needs (``lrseg_mm.utils``: timing, latency
statistics, generic conv-BN folding); the scripts in this folder import this module by
name (their folder is first on ``sys.path`` when they run).
"""
import statistics
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn

from lrseg_mm.utils.fuse import can_fuse, fuse_adjacent, fuse_conv_bn_pair


def peak_cpu_memory(fn: Callable[[], object]) -> int:
    """Peak bytes held by PyTorch's CPU allocator while ``fn()`` runs, above the start.

    Method: ``torch.profiler`` with ``profile_memory=True`` records every allocation and
    free of the CPU allocator (tensors, and scratch buffers of kernels such as convolution
    workspaces) as ``[memory]`` events with signed sizes; their running sum in time order,
    starting from 0, is the memory allocated since the call began and its maximum the peak.
    Tensors that existed before the call (weights, the input) are not included.
    """
    from torch.profiler import ProfilerActivity, profile
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU],
                                  profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events()
              if e.name() == '[memory]' and e.device_type() == torch.autograd.DeviceType.CPU]
    events.sort(key=lambda e: e.start_ns())  # stable: keeps record order on equal stamps
    live = peak = 0
    for event in events:
        live += event.nbytes()
        peak = max(peak, live)
    return peak


def peak_cuda_memory(fn: Callable[[], object], device: Optional[torch.device] = None) -> int:
    """Peak bytes allocated by the CUDA caching allocator during ``fn()``, above the start."""
    torch.cuda.synchronize(device)
    start = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    with torch.no_grad():
        fn()
    torch.cuda.synchronize(device)
    return torch.cuda.max_memory_allocated(device) - start


def paired_ratio(numerator: Sequence[float], denominator: Sequence[float]) -> float:
    """Median over rounds of ``numerator[r] / denominator[r]``.

    For latencies of two models measured in the same rounds of a round-robin: each round's
    pair saw the same background load, so the per-round ratio cancels most of it.
    """
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError(f'paired_ratio needs two equally long, non-empty series, got '
                         f'{len(numerator)} and {len(denominator)}')
    return statistics.median(a / b for a, b in zip(numerator, denominator))


def replace_marked_block(text: str, name: str, content: str) -> str:
    """Put ``content`` between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in ``text``.

    Text outside the markers (hand-written sections) is kept; when the markers are missing
    the block is appended.
    """
    begin, end = f'<!-- BEGIN {name} -->', f'<!-- END {name} -->'
    block = f'{begin}\n{content.strip()}\n{end}'
    if begin in text and end in text and text.index(begin) < text.index(end):
        head, rest = text.split(begin, 1)
        return head + block + rest.split(end, 1)[1]
    return text.rstrip('\n') + ('\n\n' if text.strip() else '') + block + '\n'


def fuse_erfnet_block(module: nn.Module) -> int:
    """Fold the BNs of the toolbox's ERFNet ``NonBottleneck1d``, whose forward runs
    ``convs_layers`` in registration order (for ``lrseg_mm.utils.fuse_conv_bn``)."""
    from mmseg.models.backbones.erfnet import NonBottleneck1d
    if type(module) is not NonBottleneck1d:
        return 0
    return fuse_adjacent(module.convs_layers)


def fuse_cgnet_block(module: nn.Module) -> int:
    """Fold the toolbox's CGNet ``ContextGuidedBlock``, ``bn(cat([f_loc(x), f_sur(x)]))``:
    each conv absorbs its slice of the BN (for ``lrseg_mm.utils.fuse_conv_bn``)."""
    from mmseg.models.backbones.cgnet import ContextGuidedBlock
    if type(module) is not ContextGuidedBlock:
        return 0
    loc, sur, bn = module.f_loc, module.f_sur, module.bn
    if not (can_fuse(loc, bn, 0) and can_fuse(sur, bn, loc.out_channels)
            and loc.out_channels + sur.out_channels == bn.num_features):
        return 0
    fuse_conv_bn_pair(loc, bn, 0)
    fuse_conv_bn_pair(sur, bn, loc.out_channels)
    module.bn = nn.Identity()
    return 1


# What the peer table folds beyond lrseg_mm.utils.fuse_conv_bn's generic rules.
PEER_FUSERS = (fuse_erfnet_block, fuse_cgnet_block)
