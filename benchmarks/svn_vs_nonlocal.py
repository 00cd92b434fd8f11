"""LRNNet's SVN head against the toolbox's non-local head, configured alike, on one
1/8-resolution map of a 512x1024 image, and the bare attention blocks: size, round-robin
time and peak memory (see BENCHMARKS.md). ``python -m benchmarks.svn_vs_nonlocal --write``
updates BENCHMARKS.md."""
import argparse
import itertools
import os.path as osp
from typing import Callable

import torch
import torch.nn as nn

from lrseg_mm.utils import count_macs, count_parameters, format_count, round_robin
from .sections import markdown_table, write_section

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
SECTION = 'svn-vs-nonlocal'
MAP_SHAPE = (1, 128, 64, 128)
PAIRS = (('SVNHead', 'NLHead'), ('SVNBlock', 'NonLocal2d'))


def peak_memory(fn: Callable[[], object], device: torch.device) -> int:
    """Peak bytes allocated on ``device`` while ``fn()`` runs, above what existed before:
    on CPU the maximum of the running sum of the allocator's ``[memory]`` events that
    ``torch.profiler`` records, on CUDA the caching allocator's peak statistic."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        start = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        with torch.no_grad():
            fn()
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - start
    from torch.profiler import ProfilerActivity, profile
    with torch.no_grad(), profile(activities=[ProfilerActivity.CPU],
                                  profile_memory=True) as prof:
        fn()
    events = [e for e in prof.profiler.kineto_results.events()
              if e.name() == '[memory]' and e.device_type() == torch.autograd.DeviceType.CPU]
    events.sort(key=lambda e: e.start_ns())  # stable: keeps record order on equal stamps
    return max(itertools.accumulate((e.nbytes() for e in events), initial=0))


class _HeadOnMap(nn.Module):
    """A decode head called on one map (heads take a list of multi-level inputs)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, x):
        return self.head([x])


def build_modules() -> dict:
    """The four modules, in eval mode: ``SVNHead`` as in ``configs/_base_/models/lrnnet.py``
    and mmseg's ``NLHead`` of the same head and attention width (32), ``SVNBlock(128, 32)``
    and mmcv's ``NonLocal2d(128, reduction=4)``."""
    from mmcv.cnn import NonLocal2d
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    from lrseg_mm.models.utils import SVNBlock
    register_all_modules(init_default_scope=False)
    bn = dict(type='BN', requires_grad=True)
    common = dict(in_channels=128, channels=32, num_classes=19, norm_cfg=bn,
                  dropout_ratio=0.1, align_corners=False)
    modules = {
        'SVNHead': _HeadOnMap(MODELS.build(dict(type='SVNHead', svn_channels=32,
                                               grid_sizes=(8, 4), num_iters=3, **common))),
        'NLHead': _HeadOnMap(MODELS.build(dict(type='NLHead', reduction=1, use_scale=True,
                                              mode='embedded_gaussian', **common))),
        'SVNBlock': SVNBlock(128, 32, grid_sizes=(8, 4), num_iters=3, norm_cfg=bn),
        'NonLocal2d': NonLocal2d(128, reduction=4, use_scale=True, norm_cfg=bn,
                                 mode='embedded_gaussian'),
    }
    return {name: module.eval() for name, module in modules.items()}


def run(rounds: int = 10, warmup: int = 2, device: str = 'cpu', progress: bool = True) -> dict:
    """Size, latency, peak memory and the paired ratios of the SVN and non-local modules,
    timed round-robin (``rounds`` after ``warmup``, a progress bar with ``progress``) on
    ``device``."""
    device = torch.device(device)
    torch.manual_seed(0)
    x = torch.randn(*MAP_SHAPE, device=device)
    modules = {k: m.to(device) for k, m in build_modules().items()}
    calls, result = {}, {}
    for name, module in modules.items():
        def call(m=module):
            with torch.no_grad():
                m(x)
            if device.type == 'cuda':
                torch.cuda.synchronize(device)
        call()
        calls[name] = call
        result[name] = dict(params=count_parameters(module), macs=count_macs(module, x).macs,
                            peak_bytes=min(peak_memory(call, device) for _ in range(2)))
    times = round_robin(calls, rounds, warmup, progress=progress, desc='SVN vs non-local')
    for name in modules:
        result[name].update(wall_ms=times.median_ms(name, 'wall'),
                            cpu_ms=times.median_ms(name, 'cpu'))
    ratios = {f'{ours}/{theirs}': dict(
        wall=times.ratio(ours, theirs, 'wall'), cpu=times.ratio(ours, theirs, 'cpu'),
        peak=result[ours]['peak_bytes'] / result[theirs]['peak_bytes'],
        macs=result[ours]['macs'] / result[theirs]['macs']) for ours, theirs in PAIRS}
    return dict(modules=result, ratios=ratios, rounds=rounds, device=str(device),
                threads=torch.get_num_threads(), shape=list(MAP_SHAPE))


def markdown(res: dict) -> str:
    """The result ``res`` of :func:`run` in Markdown."""
    n, c, h, w = res['shape']
    return '\n\n'.join([
        f'Input: one random ({n}, {c}, {h}, {w}) map (1/8 of 512x1024, 128 channels), '
        f"{res['device']}, {res['threads']} thread(s), fp32, {res['rounds']} round-robin "
        'rounds, medians. Peak = allocator peak during one call above what existed before '
        '(input and weights excluded).',
        markdown_table(['module', 'params', 'MACs', 'wall ms', 'CPU ms', 'peak memory'], [
            [name, format_count(r['params']), format_count(r['macs']), f"{r['wall_ms']:.1f}",
             f"{r['cpu_ms']:.1f}", f"{r['peak_bytes'] / 2**20:.1f} MiB"]
            for name, r in res['modules'].items()]),
        markdown_table(['ratio (paired per round)', 'time, CPU', 'time, wall', 'peak memory',
                        'MACs'], [[name, f"{r['cpu']:.3f}", f"{r['wall']:.3f}",
                                   f"{r['peak']:.4f}", f"{r['macs']:.3f}"]
                                  for name, r in res['ratios'].items()])])


def write(res: dict, path: str = osp.join(REPO, 'BENCHMARKS.md')) -> None:
    """Write the result ``res`` of :func:`run` into its generated section of ``path``."""
    suffix = 'cpu' if res['device'] == 'cpu' else 'gpu'
    write_section(path, f'{SECTION}-{suffix}', markdown(res), after='<!-- END ')


def main(argv=None):
    """Run the benchmark with the command line ``argv``; returns :func:`run`'s result."""
    parser = argparse.ArgumentParser(prog='python -m benchmarks.svn_vs_nonlocal',
                                     description="LRNNet's SVN head against a non-local head")
    parser.add_argument('--rounds', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (default 1; see BENCHMARKS.md)')
    parser.add_argument('--write', action='store_true', help='update BENCHMARKS.md')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    res = run(args.rounds, args.warmup, args.device)
    print(markdown(res))
    if args.write:
        write(res)
    return res


if __name__ == '__main__':
    main()
