"""LRNNet's SVN head vs the toolbox's non-local head on the same 1/8-resolution map.

Both heads get one random (1, 128, 64, 128) map, the 1/8-resolution 128-channel output of
LRNNet's encoder for a 512x1024 image, and produce 19-class logits. They are configured
alike:

* ``SVNHead`` exactly as in ``configs/_base_/models/lrnnet.py``: SVN block reducing to
  C' = 32 channels with 8x8 + 4x4 regions (S = 80 keys), then a 3x3 conv to 32 channels;
* mmseg's ``NLHead`` with the same head width (``channels=32``) and the same attention
  width (``reduction=1``, so queries/keys/values have 32 channels too), embedded Gaussian,
  scaled logits, and its defaults otherwise (a 3x3 conv before and after the block and
  the input concatenated before the classifier).

The attention blocks alone are compared as well: ``SVNBlock(128, 32)`` vs mmcv's
``NonLocal2d(128, reduction=4)`` (also 32 inner channels). Time is measured round-robin
(the four modules alternate, so background load hits them alike), as wall time and as the
process's CPU time per call; peak memory is the allocator peak during one call (see
``bench_common.peak_cpu_memory`` / ``peak_cuda_memory``).

Run ``python benchmarks/svn_vs_nonlocal.py [--rounds N] [--write]``; ``--write`` updates
the SVN section of BENCHMARKS.md.
"""
import argparse
import os.path as osp
import statistics
import time

import torch
import torch.nn as nn

from bench_common import (paired_ratio, peak_cpu_memory, peak_cuda_memory,
                          replace_marked_block)
from lrseg_mm.utils import count_macs, count_parameters, format_count, measure
from lrseg_mm.utils.benchmark import synchronize

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BLOCK_NAME = 'svn-vs-nonlocal'
MAP_SHAPE = (1, 128, 64, 128)
TIME_GOAL, MEMORY_GOAL = 0.10, 0.05


class HeadOnMap(nn.Module):
    """A decode head called on one map (heads take a list of multi-level inputs)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self.head = head

    def forward(self, x):
        return self.head([x])


def build_modules() -> dict:
    from mmcv.cnn import NonLocal2d
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import lrseg_mm  # noqa: F401
    from lrseg_mm.models.utils import SVNBlock
    register_all_modules(init_default_scope=False)
    bn = dict(type='BN', requires_grad=True)
    common = dict(in_channels=128, channels=32, num_classes=19, norm_cfg=bn,
                  dropout_ratio=0.1, align_corners=False)
    modules = {
        'SVNHead': HeadOnMap(MODELS.build(dict(type='SVNHead', svn_channels=32,
                                               grid_sizes=(8, 4), num_iters=3, **common))),
        'NLHead': HeadOnMap(MODELS.build(dict(type='NLHead', reduction=1, use_scale=True,
                                              mode='embedded_gaussian', **common))),
        'SVNBlock': SVNBlock(128, 32, grid_sizes=(8, 4), num_iters=3, norm_cfg=bn),
        'NonLocal2d': NonLocal2d(128, reduction=4, use_scale=True, norm_cfg=bn,
                                 mode='embedded_gaussian'),
    }
    return {name: module.eval() for name, module in modules.items()}


def run(rounds: int = 10, warmup: int = 2, device: str = 'cpu', progress: bool = True) -> dict:
    device = torch.device(device)
    torch.manual_seed(0)
    x = torch.randn(*MAP_SHAPE, device=device)
    modules = {k: m.to(device) for k, m in build_modules().items()}
    result = {name: dict(params=count_parameters(m), macs=count_macs(m, x).macs)
              for name, m in modules.items()}
    for name, module in modules.items():
        call = lambda m=module: m(x)  # noqa: E731
        with torch.no_grad():
            call()
        peaks = [peak_cpu_memory(call) if device.type == 'cpu' else
                 peak_cuda_memory(call, device) for _ in range(2)]
        result[name]['peak_bytes'] = min(peaks)

    wall = {k: [] for k in modules}
    cpu = {k: [] for k in modules}

    def one_round():
        for name, module in modules.items():
            synchronize(device)
            start, start_cpu = time.perf_counter(), time.process_time()
            with torch.no_grad():
                module(x)
            synchronize(device)
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
        return 0.0

    measure(one_round, rounds, warmup, progress=progress, desc='SVN vs non-local')
    for name in modules:
        wall[name], cpu[name] = wall[name][warmup:], cpu[name][warmup:]
        result[name].update(wall_ms=1e3 * statistics.median(wall[name]),
                            cpu_ms=1e3 * statistics.median(cpu[name]))
    ratios = {}
    for ours, theirs in (('SVNHead', 'NLHead'), ('SVNBlock', 'NonLocal2d')):
        ratios[f'{ours}/{theirs}'] = dict(
            wall=paired_ratio(wall[ours], wall[theirs]),
            cpu=paired_ratio(cpu[ours], cpu[theirs]),
            peak=result[ours]['peak_bytes'] / result[theirs]['peak_bytes'],
            macs=result[ours]['macs'] / result[theirs]['macs'])
    return dict(modules=result, ratios=ratios, rounds=rounds, device=str(device),
                threads=torch.get_num_threads(), shape=list(MAP_SHAPE))


def markdown(res: dict) -> str:
    n, c, h, w = res['shape']
    lines = [
        f'Input: one random ({n}, {c}, {h}, {w}) map (1/8 of 512x1024, 128 channels), '
        f"{res['device']}, {res['threads']} thread(s), fp32, {res['rounds']} round-robin "
        'rounds, medians. Peak = allocator peak during one call above what existed before '
        '(input and weights excluded).',
        '',
        '| module | params | MACs | wall ms | CPU ms | peak memory |',
        '|---|---:|---:|---:|---:|---:|',
    ]
    for name, r in res['modules'].items():
        lines.append(f"| {name} | {format_count(r['params'])} | {format_count(r['macs'])} | "
                     f"{r['wall_ms']:.1f} | {r['cpu_ms']:.1f} | "
                     f"{r['peak_bytes'] / 2**20:.1f} MiB |")
    lines += ['', '| ratio (paired per round) | time, CPU | time, wall | peak memory | MACs '
              '| goal |', '|---|---:|---:|---:|---:|---|']
    for name, r in res['ratios'].items():
        goal = ''
        if name == 'SVNHead/NLHead':
            met_t = r['cpu'] <= TIME_GOAL
            met_m = r['peak'] <= MEMORY_GOAL
            goal = (f"time <= {TIME_GOAL:.0%}: {'met' if met_t else 'MISSED'}; "
                    f"memory <= {MEMORY_GOAL:.0%}: {'met' if met_m else 'MISSED'}")
        lines.append(f"| {name} | {r['cpu']:.3f} | {r['wall']:.3f} | {r['peak']:.4f} | "
                     f"{r['macs']:.3f} | {goal} |")
    return '\n'.join(lines)


def write(res: dict, path: str = osp.join(REPO, 'BENCHMARKS.md')) -> None:
    suffix = 'cpu' if res['device'] == 'cpu' else 'gpu'
    text = open(path).read() if osp.exists(path) else ''
    with open(path, 'w') as f:
        f.write(replace_marked_block(text, f'{BLOCK_NAME}-{suffix}', markdown(res)))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
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
