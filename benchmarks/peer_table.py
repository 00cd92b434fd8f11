"""Peer table: our models against MMSegmentation's real-time zoo, eager and deployed, timed
round-robin at the papers' resolutions (see BENCHMARKS.md). It writes the generated sections
of BENCHMARKS.md, a plot of FPS against parameters annotated with the reported mIoU, and the
raw numbers as JSON."""
import argparse
import copy
import json
import os.path as osp
import tempfile
import time
from typing import Dict, List, Optional

import torch

from lrseg_mm.apis import load_segmentor
from lrseg_mm.deploy import BACKENDS, build_backend, cached_export, random_images
from lrseg_mm.utils import (InferenceRunner, RoundRobinTimes, count_macs, count_parameters,
                            device_description, format_count, fuse_conv_bn, round_robin)
from . import svn_vs_nonlocal
from .peers import CITYSCAPES, ENTRIES, PEER_FUSERS, REPO, VOC, Entry, int8_graph, zoo_miou
from .sections import markdown_table, write_section

# Our models and the peers each is compared with.
COMPARISONS = [('LRNNet', 'ERFNet'), ('LRNNet', 'CGNet'), ('ShelfNet18-lw', 'BiSeNetV1-R18'),
               ('RF-LW-ResNet-50', 'DeepLabV3+-R50-d8')]
COMPARED = {name for pair in COMPARISONS for name in pair}
COMPILED_MODELS = ('LRNNet', 'ERFNet', 'CGNet')  # compiling costs a minute per model
INT8_MODELS = ('LRNNet', )
LABEL = {'fp32': 'pytorch', 'fp32-fused': 'pytorch, BN folded', 'fp32-cl': 'channels-last',
         'fp32-compiled': 'torch.compile'}
GROUPS = (('Cityscapes models, 512x1024', CITYSCAPES), ('VOC models, 512x512', VOC))
CPU_EXTRAS = ('fp32-fused', 'fp32-cl', 'fp32-compiled')


def eager_variants(device: str, entry: Entry) -> List[str]:
    """Eager variants of the model of ``entry`` on ``device``: 'fp32', and on CPU for the
    compared models BN-folded, channels-last and (:data:`COMPILED_MODELS`) compiled ones;
    on a GPU 'fp16' and 'fp16+graph'."""
    if device == 'cuda':
        return ['fp32', 'fp16', 'fp16+graph']
    if entry.name not in COMPARED:
        return ['fp32']
    return ['fp32', 'fp32-fused', 'fp32-cl'] + (
        ['fp32-compiled'] if entry.name in COMPILED_MODELS else [])


def _eager_runner(model, entry: Entry, device: str, variant: str) -> InferenceRunner:
    """The timed call of one eager variant (on a copy of the model)."""
    model = copy.deepcopy(model)
    if variant == 'fp32-fused':
        fuse_conv_bn(model, extra_fusers=PEER_FUSERS)
    return InferenceRunner(model, entry.shape, 1, device, 'logits', fp16='fp16' in variant,
                           channels_last=variant.endswith('-cl'),
                           cuda_graph=variant.endswith('+graph'),
                           compiled=variant.endswith('-compiled'))


def _attempt(call, log, failure: str):
    """``call()``, or None after logging ``failure`` and the error: one model or variant
    that fails does not end the run."""
    try:
        return call()
    except Exception as exc:
        log(f'{failure}: {exc!r}')


def _backend_calls(model, entry: Entry, backends, threads: int, int8: bool, onnx_dir: str,
                   log=print) -> dict:
    """Timed calls of the exported graph (and INT8 graph) on each non-PyTorch backend."""
    calls, deployed = {}, [b for b in backends if b != 'pytorch']
    fp32 = deployed and _attempt(lambda: cached_export(model, entry.shape, 1, onnx_dir,
                                                       name=entry.name),
                                 log, f'{entry.name}: export failed, no backend columns')
    inputs = random_images(1, entry.shape).numpy()
    for backend in deployed if fp32 else []:
        graphs = {backend: fp32}
        if int8 and entry.name in INT8_MODELS:
            graphs[f'{backend}-int8'] = _attempt(
                lambda: int8_graph(fp32, backend, entry.shape), log,
                f'{entry.name}: INT8 quantisation for {backend} failed')
        for variant, path in graphs.items():
            run = path and _attempt(lambda: build_backend(backend, onnx_file=path,
                                                          threads=threads),
                                    log, f'{entry.name} {variant}: not measured')
            if run:
                calls[variant] = lambda run=run: run(inputs)
    return calls


def prepare(entries: List[Entry], device: str, backends=('pytorch', ), threads: int = 1,
            int8: bool = False, onnx_dir: Optional[str] = None, log=print,
            eager: Optional[List[str]] = None) -> dict:
    """Build every model of ``entries``, count parameters/MACs and make its timed calls on
    ``device``: the eager variants of :func:`eager_variants` (only those in ``eager`` when
    given) with 'pytorch' among ``backends``, and the exported graph (cached in ``onnx_dir``;
    with ``int8`` also the INT8 graph of :data:`INT8_MODELS`) on each other backend at
    ``threads`` threads. Progress and failures go to ``log``.

    Returns:
        dict: Name -> ``{'entry', 'params', 'macs', 'calls': {variant: callable}}``.
    """
    prepared = {}
    for entry in entries:
        if entry.miou is None:
            entry.miou, entry.miou_source = zoo_miou(entry)
        start = time.time()
        model = _attempt(lambda: load_segmentor(entry.path, drop_auxiliary_heads=True), log,
                         f'SKIP {entry.name}: building {entry.config} failed')
        if model is None:
            continue
        macs = _attempt(lambda: count_macs(model, torch.randn(1, 3, *entry.shape)).macs, log,
                        f'{entry.name}: MAC count failed, reported as n/a')
        eager_calls = {v: _attempt(lambda: _eager_runner(model, entry, device, v), log,
                                   f'{entry.name} {v}: not measured')
                       for v in (eager_variants(device, entry) if 'pytorch' in backends else [])
                       if eager is None or v in eager}
        calls = {v: call for v, call in eager_calls.items() if call is not None}
        calls.update(_backend_calls(model, entry, backends, threads, int8, onnx_dir, log))
        prepared[entry.name] = dict(entry=entry, params=count_parameters(model), macs=macs,
                                    calls=calls)
        log(f'{entry.name}: {format_count(count_parameters(model))} params, '
            f'{format_count(macs)}MACs at {entry.shape[0]}x{entry.shape[1]}, set up in '
            f'{time.time() - start:.1f} s')
    return prepared


def measure(prepared: dict, rounds: int, warmup: int, budget_s: Optional[float],
            log=print) -> RoundRobinTimes:
    """One round-robin (keys ``'<model>|<variant>'``) over the calls of :func:`prepare`:
    at most ``rounds`` after ``warmup``, stopping after ``budget_s`` seconds; a call that
    fails is dropped and named to ``log``."""
    calls = {f'{name}|{variant}': call for name, item in prepared.items()
             for variant, call in item['calls'].items()}
    times = round_robin(calls, rounds, warmup, budget_s, drop_failures=True, progress=True,
                        desc='peer table rounds')
    for key, error in times.failed.items():
        log(f'{key.replace("|", " ")}: call failed ({error}); dropped')
    return times


def summarise(prepared: dict, times: RoundRobinTimes, clock: str) -> dict:
    """Rows of the table and the paired ratios of :data:`COMPARISONS` (and, deployed, of
    LRNNet's backends to eager PyTorch and of its INT8 graphs to float32), from the
    calls of :func:`prepare` and their ``times``; ``clock`` ('cpu' or 'wall') gives
    ``ratio``."""
    rows = {}
    for key in times.wall:
        name, variant = key.split('|')
        item, entry = prepared[name], prepared[name]['entry']
        row = rows.setdefault(name, dict(
            name=name, ours=entry.ours, config=entry.config, shape=list(entry.shape),
            params=item['params'], macs=item['macs'], miou=entry.miou,
            miou_source=entry.miou_source, variants={}))
        wall_ms, cpu_ms = times.median_ms(key, 'wall'), times.median_ms(key, 'cpu')
        row['variants'][variant] = dict(wall_ms=wall_ms, cpu_ms=cpu_ms, fps_wall=1e3 / wall_ms,
                                        fps_cpu=1e3 / cpu_ms, calls=len(times.wall[key]))
    variants = list(dict.fromkeys(v for r in rows.values() for v in r['variants']))
    pairs = [(f'{m}|{v}', f'{p}|{v}', m, p, v) for m, p in COMPARISONS for v in variants]
    for model in INT8_MODELS:
        for backend in (b for b in BACKENDS if b != 'pytorch' and f'{model}|{b}' in times.wall):
            pairs += [(f'{model}|{backend}', f'{model}|fp32', model, f'{model} eager', backend),
                      (f'{model}|{backend}-int8', f'{model}|{backend}', model,
                       f'{model} fp32, same backend', f'{backend}-int8')]
    ratios = []
    for key, reference, model, peer, variant in pairs:
        cpu, wall = times.ratio(key, reference, 'cpu'), times.ratio(key, reference, 'wall')
        if cpu is not None:
            ratios.append(dict(model=model, peer=peer, variant=variant, ratio_cpu=cpu,
                               ratio_wall=wall, ratio=cpu if clock == 'cpu' else wall))
    return dict(rows=rows, ratios=ratios, rounds=times.rounds, clock=clock)


def _ms(variant: Optional[dict], key: str, fmt: str = '.0f') -> str:
    """A figure of a measured variant, '-' where it was not measured."""
    return '-' if variant is None else format(variant[key], fmt)


def markdown(summary: dict, device: str, plot_name: Optional[str]) -> str:
    """The peer table, the compared models' variants and the ratios of a
    :func:`summarise` on ``device``, in Markdown, linking the plot ``plot_name``."""
    rows, cpu = summary['rows'], device == 'cpu'
    lines = [
        f"Measured on {device_description(device)}; torch {torch.__version__}; "
        f"{summary['rounds']} timed round-robin rounds; batch 1; mode 'logits' (network + "
        'resize of the logits to the input size); random weights; models as built from '
        'their configs. Latencies are medians over rounds' + ('; FPS = 1000 / CPU ms' if cpu
                                                              else '')
        + '. MACs = multiply-adds of the `tensor` forward (tools/get_flops.py). mIoU is **as '
        'reported** by the paper (ours) or the mmseg model zoo (others), on the split named '
        '- not measured here.', '']
    shown = ['fp32'] if cpu else ['fp32', 'fp16', 'fp16+graph']
    columns = ['CPU ms', 'FPS', 'wall ms'] if cpu else [f'{v} {c}' for v in shown
                                                         for c in ('ms', 'FPS')]
    cells = [('cpu_ms', '.0f'), ('fps_cpu', '.2f'), ('wall_ms', '.0f')] if cpu else \
        [('wall_ms', '.2f'), ('fps_wall', '.1f')]
    for title, shape in GROUPS:
        group = sorted((r for r in rows.values() if tuple(r['shape']) == shape),
                       key=lambda r: r['variants'].get('fp32', {}).get(
                           'cpu_ms' if cpu else 'wall_ms', float('inf')))
        if group:
            lines += [f'#### {title}', '', markdown_table(
                ['model', 'params', 'MACs', *columns, 'reported mIoU'],
                [[f"**{r['name']}** (ours)" if r['ours'] else r['name'],
                  format_count(r['params']), format_count(r['macs'])]
                 + [_ms(r['variants'].get(v), k, f) for v in shown for k, f in cells]
                 + [f"{r['miou']:.1f} ({r['miou_source']})" if r['miou'] is not None
                    else 'n/a'] for r in group], align='l' + 'r' * (2 + len(columns)) + 'l'),
                '']
    compared = [r for r in rows.values() if cpu and any(v in r['variants'] for v in CPU_EXTRAS)]
    if compared:
        lines += ['#### Compared models under inference transforms (CPU ms, medians)', '',
                  '`pytorch, BN folded`: eval-mode BN folded into the convolutions '
                  '(`lrseg_mm.utils.fuse_conv_bn`, same outputs up to float rounding); '
                  '`channels-last`: weights and input in channels-last memory format; '
                  '`torch.compile`: Inductor with freezing. Each is applied to every model '
                  'of the column alike.', '', markdown_table(
                      ['model'] + [LABEL[v] for v in ('fp32', ) + CPU_EXTRAS],
                      [[r['name']] + [_ms(r['variants'].get(v), 'cpu_ms')
                                      for v in ('fp32', ) + CPU_EXTRAS] for r in compared]), '']
    lines += [ratio_table(summary['ratios'], summary['clock'])]
    if plot_name:
        lines += ['', f'![FPS against parameters]({plot_name})']
    return '\n'.join(lines)


def ratio_table(ratios: List[dict], clock: str) -> str:
    """The ``ratios`` of a :func:`summarise` (medians of per-round ratios, ours / peer),
    introduced as measured in ``clock`` time first."""
    return f'Latency ratios, ours / peer, medians of per-round ratios ({clock} time first):' \
        '\n\n' + markdown_table(
            ['model', 'peer', 'variant', 'ratio, CPU time', 'ratio, wall time'],
            [[r['model'], r['peer'], LABEL.get(r['variant'], r['variant']),
              f"{r['ratio_cpu']:.3f}", f"{r['ratio_wall']:.3f}"] for r in ratios], align='lll')


def deployment_markdown(runs: Dict[int, dict]) -> str:
    """One column per variant and thread count (``runs``: threads -> :func:`summarise`),
    and the ratios of each run."""
    found = {v for s in runs.values() for r in s['rows'].values() for v in r['variants']}
    order = ['fp32', 'fp32-fused', 'fp32-compiled'] + [v for b in BACKENDS if b != 'pytorch'
                                                       for v in (b, f'{b}-int8')]
    variants = [v for v in order if v in found]
    names = list(dict.fromkeys(n for s in runs.values() for n in s['rows']))
    lines = [
        f'Measured on {device_description("cpu").split(" (")[0]}; torch {torch.__version__}, '
        f'{versions()}. Batch 1, random input, `logits` graph (network + resize to the input '
        'size) exported once per model by `lrseg_mm.deploy.export_onnx` (static shape) and '
        "run the same way for every model; INT8: each backend's own post-training "
        'quantisation, calibrated on random input (which does not change the speed): '
        '`onnxruntime-int8` = ONNX Runtime static QDQ, per-channel weights; `openvino-int8` = '
        'NNCF. Medians over round-robin rounds; ms = CPU time at 1 thread, wall time at more '
        'threads.', '', markdown_table(
            ['model'] + [f'{LABEL.get(v, v)}, {t} thr' for t in runs for v in variants],
            [[name] + [_ms(s['rows'].get(name, {'variants': {}})['variants'].get(v),
                           'cpu_ms' if t == 1 else 'wall_ms')
                       for t, s in runs.items() for v in variants] for name in names])]
    for threads, summary in runs.items():
        lines += ['', f'{threads} thread(s): ' + ratio_table(summary['ratios'],
                                                            summary['clock'])]
    return '\n'.join(lines)


def versions() -> str:
    """Versions of the deployment runtimes that are installed."""
    from importlib.metadata import version
    from importlib.util import find_spec
    found = [f'{name} {version(name)}' for name in ('onnxruntime', 'openvino') if find_spec(name)]
    return ', '.join(found) or 'no deployment runtime'


def _place_labels(ax, points):
    """Annotate (x, y, text, colour) points, moving a label when it would cover another:
    a greedy search over a few offsets with an approximate text box (display pixels)."""
    ax.figure.canvas.draw()
    (x0, y0), (x1, y1) = ax.transAxes.transform((0, 0)), ax.transAxes.transform((1, 1))
    offsets = [(6, 4), (6, -22), (-8, 4), (-8, -22), (6, 16), (6, -34), (-8, 16), (-8, -34)]
    placed = [(px - 7, py - 7, px + 7, py + 7)  # the markers, then each placed label
              for px, py in (ax.transData.transform((x, y)) for x, y, _, _ in points)]
    for x, y, text, colour in sorted(points, key=lambda p: -p[1]):
        px, py = ax.transData.transform((x, y))
        lines = text.split('\n')
        width, height = 5.6 * max(len(line) for line in lines), 11 * len(lines)
        for dx, dy in offsets:
            left = px + dx - (width if dx < 0 else 0)
            box = (left, py + dy, left + width, py + dy + height)
            inside = x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1
            if inside and not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3]
                                  and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        ax.annotate(text, (x, y), textcoords='offset points', xytext=(dx * 0.75, dy * 0.75),
                    fontsize=7.5, color=colour, ha='right' if dx < 0 else 'left',
                    va='bottom')


def plot(summary: dict, device: str, path: str, device_name: Optional[str] = None) -> None:
    """FPS against parameters of a :func:`summarise` on ``device``, one panel per
    resolution, with the reported mIoU, written to ``path``; the title names
    ``device_name`` (default: this machine's)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cpu = device == 'cpu'
    key = 'fps_cpu' if cpu else 'fps_wall'
    fig, axes = plt.subplots(1, 2, figsize=(15, 6.5))
    for ax, (title, shape) in zip(axes, GROUPS):
        points = []
        for r in (r for r in summary['rows'].values()
                  if tuple(r['shape']) == tuple(shape) and 'fp32' in r['variants']):
            x, y = r['params'] / 1e6, r['variants']['fp32'][key]
            colour = 'tab:red' if r['ours'] else 'tab:blue'
            ax.scatter([x], [y], s=110 if r['ours'] else 45, marker='*' if r['ours'] else 'o',
                       color=colour, zorder=3)
            label = r['name'] + (f" - {r['miou']:.1f} mIoU*" if r['miou'] is not None else '')
            points.append((x, y, label, colour))
        ax.set(xscale='log', xlabel='parameters (millions, log scale)', title=title,
               ylabel='FPS, batch 1, fp32' + (' (1 / CPU time per image)' if cpu else ''))
        if points:
            ax.set_xlim(min(p[0] for p in points) / 1.6, max(p[0] for p in points) * 3.0)
            ax.set_ylim(0, max(p[1] for p in points) * 1.15)
        ax.grid(True, which='both', alpha=0.3)
        _place_labels(ax, points)
    fig.suptitle(f'FPS vs parameters on {device_name or device_description(device)}\n'
                 '* mIoU as REPORTED by the papers (red stars, ours) / the mmseg zoo (blue), '
                 'not measured here; splits differ (see BENCHMARKS.md)', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    """The command line (``argv``: its arguments; default: ``sys.argv``)."""
    parser = argparse.ArgumentParser(prog='python -m benchmarks.peer_table',
                                     description='Peer table of real-time segmentors')
    add = parser.add_argument
    add('--quick', action='store_true', help='2 timed rounds after 1 warm-up, no time budget')
    add('--rounds', type=int, default=15, help='maximal timed rounds')
    add('--warmup', type=int, default=1, help='untimed rounds first')
    add('--budget-s', type=float, default=300,
        help='stop timed rounds after this many seconds (at least 3 rounds)')
    add('--device', choices=['cpu', 'cuda'], default=None)
    add('--threads', type=int, nargs='+', default=[1],
        help='CPU threads of torch and the backends (default 1, see BENCHMARKS.md); several '
        'values: one round-robin per value')
    add('--backends', nargs='+', choices=BACKENDS, default=['pytorch'],
        help="runtimes: 'pytorch' (eager; the default) and the exported graph in "
        'onnxruntime / openvino (one column each)')
    add('--int8', action='store_true', help='with --backends: also time the INT8 graph of LRNNet')
    add('--onnx-dir', help='where exported graphs are cached (default: a temporary folder)')
    add('--no-extras', action='store_true', help='only fp32 for the compared models too (no '
        'BN-folded, channels-last or compiled columns)')
    add('--eager-variants', nargs='+', choices=['fp32', *CPU_EXTRAS, 'fp16', 'fp16+graph'],
        help="eager PyTorch variants to measure (default: all of the device's; 'fp32' always "
        'for every model)')
    add('--only', nargs='+', help='measure only these models (names); the full peer table, its '
        'plot and JSON are then left as they are, only the deployment section is written')
    add('--no-svn', action='store_true', help='skip the SVN vs NL benchmark')
    add('--output', default=osp.join(REPO, 'BENCHMARKS.md'))
    add('--no-write', action='store_true', help='print, do not write files')
    add('--replot', metavar='JSON', help='only redraw the plot from the JSON of an earlier run')
    args = parser.parse_args(argv)
    args.device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if args.quick:
        args.rounds, args.warmup, args.budget_s = 2, 1, None
    if args.no_extras:
        args.eager_variants = ['fp32']
    elif args.eager_variants is not None and 'fp32' not in args.eager_variants:
        args.eager_variants.append('fp32')  # every table and ratio is relative to it
    if min(args.threads) < 1:
        parser.error('--threads must be >= 1')
    if args.device == 'cuda' and args.backends != ['pytorch']:
        parser.error('--backends onnxruntime/openvino are CPU backends: use --device cpu')
    return args


def main(argv=None):
    """Run the benchmark with the command line ``argv``; returns the first run's summary."""
    args = parse_args(argv)
    suffix = 'cpu' if args.device == 'cpu' else 'gpu'
    plot_rel = f'benchmarks/fps_vs_params_{suffix}.png'
    if args.replot:
        with open(args.replot) as f:
            saved = json.load(f)
        plot(saved['summary'], saved['device'], osp.join(REPO, plot_rel),
             saved.get('device_name'))
        return saved['summary']
    started = time.time()
    print(f'device: {device_description(args.device)}')
    onnx_dir = args.onnx_dir or tempfile.mkdtemp(prefix='peer_table_onnx_')
    runs = {}
    for threads in args.threads:  # one round-robin per thread count
        torch.set_num_threads(threads)
        entries = [copy.copy(e) for e in ENTRIES if not args.only or e.name in args.only]
        prepared = prepare(entries, args.device, args.backends, threads, args.int8, onnx_dir,
                           eager=args.eager_variants)
        times = measure(prepared, args.rounds, args.warmup, args.budget_s)
        runs[threads] = summarise(prepared, times, 'cpu' if threads == 1 and
                                  args.device == 'cpu' else 'wall')
    summary = runs[args.threads[0]]
    torch.set_num_threads(args.threads[0])  # the main table describes the first run
    deployment = None
    if args.backends != ['pytorch'] or len(args.threads) > 1:
        deployment = deployment_markdown(runs)
        print(deployment)
    table = markdown(summary, args.device, None if args.no_write else plot_rel)
    print(table)
    svn = None if args.no_svn else svn_vs_nonlocal.run(rounds=6 if args.quick else 10,
                                                       device=args.device)
    if svn is not None:
        print(svn_vs_nonlocal.markdown(svn))
    total = time.time() - started
    print(f'peer table finished in {total:.0f} s')
    if args.no_write:
        return summary
    after = '<!-- END '  # a missing section goes after the last generated one
    if deployment is not None:
        write_section(args.output, f'deploy-backends-{suffix}', deployment, after)
    if svn is not None:
        svn_vs_nonlocal.write(svn, args.output)
    if args.only:
        print(f'--only: the peer-table section, {plot_rel} and the JSON are left as they are')
        return summary
    plot(summary, args.device, osp.join(REPO, plot_rel))
    write_section(args.output, f'peer-table-{suffix}',
                  table + f'\n\nWhole run (set-up, rounds, SVN benchmark): {total:.0f} s.', after)
    with open(osp.join(REPO, f'benchmarks/peer_table_{suffix}.json'), 'w') as f:
        json.dump(dict(summary=summary, svn=svn, seconds=total, device=args.device,
                       deployment=runs, device_name=device_description(args.device),
                       torch=torch.__version__), f, indent=1, default=str)
    return summary


if __name__ == '__main__':
    main()
