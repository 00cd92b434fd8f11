"""Peer table: our models against MMSegmentation 1.2.2's real-time zoo, measured in one run.

For every model (built from its config, SyncBN -> BN, random weights, auxiliary heads
removed) it reports parameters, multiply-adds and batch-1 latency / FPS of whole-image
inference (network + resize of the logits to the input size, ``mode='logits'`` of
``lrseg_mm.utils.benchmark``) at the papers' resolutions: 512x1024 for Cityscapes models,
512x512 for VOC models. All models are timed round-robin: every round calls each model once,
in a freshly shuffled order, so background load from other processes hits all models alike;
the medians over rounds are reported, and goal ratios are medians of per-round ratios.

On CPU each call is timed as wall time and as the process's CPU time (with one torch thread,
CPU time is what the call costs an otherwise idle core; wall time also contains waiting for
the CPU when other processes load it). On a GPU the variants are fp32, fp16 and fp16 with
CUDA-graph replay, timed in wall time between device synchronisations.

Usage::

    python benchmarks/peer_table.py            # full run (~10 min on a 2-core CPU)
    python benchmarks/peer_table.py --quick    # 2 timed rounds, to check the set-up
    # issue 13: every model also exported and run in ONNX Runtime and OpenVINO, LRNNet in
    # INT8 too, at 1 and at 2 threads (one round-robin per thread count)
    python benchmarks/peer_table.py --backends pytorch onnxruntime openvino --int8 --threads 1 2

With ``--backends``, every model is exported once by the project's exporter (static shape,
``lrseg_mm.apis.deploy``) and the same random input is run through each backend (the same
transforms for every model); a second Markdown block gives one column per backend and
thread count, the CPU model, and issue 13's goal ratios with met / MISSED. At 1 thread a
goal is judged on CPU time, at more threads on wall time (CPU time then sums the threads).

It writes the generated sections of BENCHMARKS.md (text outside the markers is kept), a PNG
plot of FPS against parameters annotated with the mIoU the papers / the model zoo report
(not measured here), and the raw numbers as JSON.
"""
import argparse
import copy
import json
import os
import os.path as osp
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import List, Optional, Sequence

import torch

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

from bench_common import PEER_FUSERS, paired_ratio, replace_marked_block  # noqa: E402
from lrseg_mm.apis import load_segmentor, resolve_config_path  # noqa: E402
from lrseg_mm.apis.deploy import BACKENDS, DeployedRunner, build_backend  # noqa: E402
from lrseg_mm.utils import (InferenceRunner, count_macs, count_parameters,  # noqa: E402
                            cpu_model_name, format_count, fuse_conv_bn)

CITYSCAPES, VOC = (512, 1024), (512, 512)


@dataclass
class Entry:
    """One model of the table.

    Attributes:
        name (str): Display name.
        config (str): Config path (``mmseg::`` for the toolbox's shipped configs).
        shape (tuple): Input (H, W).
        ours (bool): A model of this project.
        miou (float | None): mIoU reported by the paper (ours) or read from the toolbox's
            metafile (zoo) - not measured here.
        miou_source (str): Where ``miou`` comes from and on which split.
    """
    name: str
    config: str
    shape: tuple
    ours: bool = False
    miou: Optional[float] = None
    miou_source: str = ''


ENTRIES = [
    Entry('LRNNet', 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py', CITYSCAPES,
          True, 72.2, 'paper, Cityscapes test'),
    Entry('ShelfNet18-lw', 'configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py',
          CITYSCAPES, True, 74.8, "authors' repo, Cityscapes test"),
    Entry('RF-LW-ResNet-50', 'configs/lw_refinenet/lw-refinenet_r50_4xb4-40k_voc12aug-512x512.py',
          VOC, True, 81.1, 'paper, VOC test, COCO-pretrained'),
    Entry('RF-LW-MobileNetV2',
          'configs/lw_refinenet/lw-refinenet_mbv2_4xb4-40k_voc12aug-512x512.py', VOC, True, 79.2,
          'paper, VOC test, COCO-pretrained'),
    Entry('ERFNet', 'mmseg::erfnet/erfnet_fcn_4xb4-160k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('CGNet', 'mmseg::cgnet/cgnet_fcn_4xb8-60k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('Fast-SCNN', 'mmseg::fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('BiSeNetV1-R18', 'mmseg::bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py',
          CITYSCAPES),
    Entry('BiSeNetV2', 'mmseg::bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py',
          CITYSCAPES),
    Entry('STDC1', 'mmseg::stdc/stdc1_4xb12-80k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('STDC2', 'mmseg::stdc/stdc2_4xb12-80k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('DDRNet-23-slim',
          'mmseg::ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py', CITYSCAPES),
    Entry('PIDNet-S', 'mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py', CITYSCAPES),
    Entry('MobileNetV3-LRASPP',
          'mmseg::mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py',
          CITYSCAPES),
    Entry('DeepLabV3+-R50-d8',
          'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-40k_voc12aug-512x512.py', VOC),
    Entry('NonLocal-R50-d8', 'mmseg::nonlocal_net/nonlocal_r50-d8_4xb4-40k_voc12aug-512x512.py',
          VOC),
]

# (model, reference, maximal latency ratio) - issue 5's goals.
GOALS = [
    ('LRNNet', 'ERFNet', 0.5),
    ('LRNNet', 'CGNet', 1.0),
    ('ShelfNet18-lw', 'BiSeNetV1-R18', 1.0),
    ('RF-LW-ResNet-50', 'DeepLabV3+-R50-d8', 0.4),
]


# Issue 13's goals, each judged at every measured thread count: (model, reference, limit,
# variants). Variants name the runtimes: 'fp32' = eager PyTorch, 'onnxruntime'/'openvino'
# = the exported graph there, '<backend>-int8' = the INT8 graph. ``DEPLOYED`` stands for
# every measured backend; the backend/eager and INT8 goals are added by deployment_goals.
DEPLOYED = 'deployed'
DEPLOY_GOALS = [
    ('LRNNet', 'ERFNet', 0.45, ('fp32', 'fp32-fused', 'fp32-compiled')),
    ('LRNNet', 'CGNet', 0.85, ('fp32', 'fp32-fused', 'fp32-compiled')),
    ('LRNNet', 'CGNet', 0.8, (DEPLOYED, )),
    ('ShelfNet18-lw', 'BiSeNetV1-R18', 0.9, ('fp32', 'fp32-fused', DEPLOYED)),
    ('RF-LW-ResNet-50', 'DeepLabV3+-R50-d8', 0.35, ('fp32', 'fp32-fused', DEPLOYED)),
]
# The eager LRNNet goals are also judged under torch.compile: those three models compile.
COMPILED_MODELS = ('LRNNet', 'ERFNet', 'CGNet')
SELF_GOALS = [('LRNNet', 0.5, 'fp32'), ('LRNNet', 0.6, 'int8')]  # backend / eager, int8 / fp32
INT8_MODELS = ('LRNNet', )


class RandomCalibrationReader:
    """Random normal calibration inputs: INT8 *speed* does not depend on the ranges."""

    def __init__(self, shape, num: int = 4, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        self.batches = [torch.randn(1, 3, *shape, generator=gen).numpy() for _ in range(num)]
        self.rewind()

    def rewind(self):
        self.set_range(0, len(self.batches))

    def set_range(self, start_index, end_index):
        self._next, self._end = start_index, min(end_index, len(self.batches))

    def get_next(self):
        if self._next >= self._end:
            return None
        self._next += 1
        return {'img': self.batches[self._next - 1]}

    def __len__(self):
        return len(self.batches)


def zoo_miou(config: str):
    """mIoU and dataset of a shipped config, from the toolbox's metafile.yaml."""
    import yaml
    path = resolve_config_path(config)
    relative = config.split('::', 1)[1]
    meta_path = osp.join(osp.dirname(path), 'metafile.yaml')
    if not osp.exists(meta_path):
        return None, ''
    with open(meta_path) as f:
        meta = yaml.safe_load(f)
    for model in meta.get('Models', []):
        if model.get('Config') == f'configs/{relative}':
            results = model['Results'] if isinstance(model['Results'], list) else [
                model['Results']]
            miou = results[0]['Metrics'].get('mIoU')
            dataset = results[0].get('Dataset', '').replace('Pascal VOC 2012 + Aug', 'VOC aug')
            return miou, f'mmseg zoo, {dataset} val'
    return None, ''


def variants_for(device: str, extras: bool = True) -> List[str]:
    """Measured variants: 'fp32' for every model; the others for the goal models only.

    CPU: 'fp32-fused' (eval-mode BN folded into convs by ``lrseg_mm.utils.fuse_conv_bn``),
    'fp32-cl' (weights and input channels-last) and 'fp32-compiled' (``torch.compile``,
    Inductor with freezing). GPU: 'fp16' and 'fp16+graph' (fp16 with CUDA-graph replay),
    for every model.
    """
    if device == 'cuda':
        return ['fp32', 'fp16', 'fp16+graph']
    return ['fp32', 'fp32-fused', 'fp32-cl', 'fp32-compiled'] if extras else ['fp32']


def make_runner(model, shape, device: str, variant: str) -> InferenceRunner:
    if 'fused' in variant:
        fuse_conv_bn(model.eval(), extra_fusers=PEER_FUSERS)
    return InferenceRunner(model, shape, 1, device, 'logits', fp16='fp16' in variant,
                           channels_last=variant.endswith('-cl'),
                           cuda_graph=variant.endswith('+graph'),
                           compiled=variant.endswith('-compiled'))


def int8_graph(fp32_file: str, backend: str, shape) -> str:
    """The INT8 graph of an exported fp32 graph, made once, with each backend's own tool:
    ONNX Runtime's static QDQ quantisation, or NNCF for OpenVINO (an IR)."""
    from lrseg_mm.apis.quantize import quantize_int8, quantize_int8_openvino
    stem = fp32_file[:-len('.onnx')]
    if backend == 'openvino':
        out, quantize = stem + '-int8-nncf.xml', quantize_int8_openvino
    else:
        out, quantize = stem + '-int8.onnx', quantize_int8
    if not osp.exists(out):
        quantize(fp32_file, out, RandomCalibrationReader(shape))
    return out


def backend_runners(model, entry: Entry, backends, threads: Optional[int], int8: bool,
                    onnx_dir: str, log=print) -> dict:
    """Timed runners of a model's exported graph on each non-PyTorch backend (and its INT8
    graph for :data:`INT8_MODELS` with ``int8``)."""
    from lrseg_mm.apis.deploy import cached_export
    runners = {}
    deployed = [b for b in backends if b != 'pytorch']
    if not deployed:
        return runners
    try:
        fp32 = cached_export(model, entry.shape, 1, onnx_dir, name=entry.name)
    except Exception as exc:
        log(f'{entry.name}: export failed ({exc!r}); no backend columns')
        return runners
    for backend in deployed:
        int8_file = None
        if int8 and entry.name in INT8_MODELS:
            try:
                int8_file = int8_graph(fp32, backend, entry.shape)
            except Exception as exc:
                log(f'{entry.name}: INT8 quantisation for {backend} failed ({exc!r})')
        for variant, path in ((backend, fp32), (f'{backend}-int8', int8_file)):
            if path is None:
                continue
            try:
                runners[variant] = DeployedRunner(
                    build_backend(backend, onnx_file=path, threads=threads), entry.shape)
            except Exception as exc:
                log(f'{entry.name} {variant}: not measured ({exc!r})')
    return runners


def prepare(entries: List[Entry], device: str, extras: bool, log=print,
            backends=('pytorch', ), threads: Optional[int] = None, int8: bool = False,
            onnx_dir: Optional[str] = None,
            eager_variants: Optional[Sequence[str]] = None) -> dict:
    """Build every available model, count parameters/MACs, create the timed runners.

    ``backends`` other than 'pytorch' add one runner per backend (the exported graph, with
    ``threads`` CPU threads); without 'pytorch' the eager variants are left out.
    ``eager_variants`` picks among :func:`variants_for`'s (default: all of them).
    """
    eager = [v for v in variants_for(device, extras)
             if eager_variants is None or v in eager_variants]
    goal_models = {name for goal in GOALS for name in goal[:2]}
    prepared = {}
    for entry in entries:
        if not entry.config.startswith('mmseg::') and not osp.exists(
                osp.join(REPO, entry.config)):
            log(f'SKIP {entry.name}: config {entry.config} does not exist (yet)')
            continue
        config = entry.config if entry.config.startswith('mmseg::') else osp.join(
            REPO, entry.config)
        if entry.miou is None and entry.config.startswith('mmseg::'):
            entry.miou, entry.miou_source = zoo_miou(entry.config)
        start = time.time()
        try:
            model = load_segmentor(config, drop_auxiliary_heads=True)
        except Exception as exc:  # a model that does not build is reported, not fatal
            log(f'SKIP {entry.name}: building {entry.config} failed: {exc!r}')
            continue
        h, w = entry.shape
        try:
            macs = count_macs(model, torch.randn(1, 3, h, w)).macs
        except Exception as exc:
            log(f'{entry.name}: MAC count failed ({exc!r}); reported as n/a')
            macs = None
        runners = {}
        for variant in eager if 'pytorch' in backends else []:
            if device == 'cpu' and variant != 'fp32' and entry.name not in goal_models:
                continue
            if variant == 'fp32-compiled' and entry.name not in COMPILED_MODELS:
                continue  # compiling costs a minute per model: only where a goal uses it
            try:
                runners[variant] = make_runner(copy.deepcopy(model), entry.shape, device,
                                               variant)
            except Exception as exc:
                log(f'{entry.name} {variant}: not measured ({exc!r})')
        runners.update(backend_runners(model, entry, backends, threads, int8, onnx_dir, log))
        prepared[entry.name] = dict(entry=entry, params=count_parameters(model), macs=macs,
                                    runners=runners)
        log(f'{entry.name}: {format_count(count_parameters(model))} params, '
            f'{format_count(macs)}MACs at {h}x{w}, set up in {time.time() - start:.1f} s')
    return prepared


def round_robin(prepared: dict, rounds: int, warmup: int, budget_s: Optional[float],
                min_rounds: int = 3, seed: int = 0, log=print) -> dict:
    """Call every runner once per round in a shuffled order; return per-call times."""
    from tqdm import tqdm
    calls = [(name, variant, runner) for name, item in prepared.items()
             for variant, runner in item['runners'].items()]
    rng = random.Random(seed)
    wall = {(n, v): [] for n, v, _ in calls}
    cpu = {(n, v): [] for n, v, _ in calls}
    start = None
    done = 0
    with tqdm(total=warmup + rounds, desc='peer table rounds', dynamic_ncols=True) as bar:
        for r in range(warmup + rounds):
            if r == warmup:
                start = time.time()
            order = calls[:]
            rng.shuffle(order)
            for name, variant, runner in order:
                failed = False
                begin_cpu = time.process_time()
                try:
                    seconds = runner()
                except Exception as exc:
                    log(f'{name} {variant}: call failed ({exc!r}); dropped')
                    failed = True
                spent_cpu = time.process_time() - begin_cpu
                if failed:
                    prepared[name]['runners'].pop(variant, None)
                    calls.remove((name, variant, runner))
                    wall.pop((name, variant)), cpu.pop((name, variant))
                    continue
                if r >= warmup:
                    wall[(name, variant)].append(seconds)
                    cpu[(name, variant)].append(spent_cpu)
            bar.update()
            if r >= warmup:
                done += 1
                if (budget_s is not None and done >= min_rounds
                        and time.time() - start > budget_s):
                    log(f'time budget of {budget_s:.0f} s used after {done} timed rounds')
                    break
    return dict(wall=wall, cpu=cpu, rounds=done)


def summarise(prepared: dict, times: dict, device: str) -> dict:
    rows = {}
    for (name, variant), series in times['wall'].items():
        if not series:
            continue
        item = prepared[name]
        entry = item['entry']
        wall_ms = 1e3 * statistics.median(series)
        cpu_ms = 1e3 * statistics.median(times['cpu'][(name, variant)])
        rows.setdefault(name, dict(
            name=name, ours=entry.ours, config=entry.config, shape=list(entry.shape),
            params=item['params'], macs=item['macs'], miou=entry.miou,
            miou_source=entry.miou_source, variants={}))
        rows[name]['variants'][variant] = dict(wall_ms=wall_ms, cpu_ms=cpu_ms,
                                               fps_wall=1e3 / wall_ms, fps_cpu=1e3 / cpu_ms,
                                               calls=len(series))
    goals = []
    clock = 'cpu' if device == 'cpu' else 'wall'
    for variant in variants_for(device, True):
        for model, reference, limit in GOALS:
            a, b = (model, variant), (reference, variant)
            if not times['wall'].get(a) or not times['wall'].get(b):
                continue
            ratio_cpu = paired_ratio(times['cpu'][a], times['cpu'][b])
            ratio_wall = paired_ratio(times['wall'][a], times['wall'][b])
            primary = ratio_cpu if clock == 'cpu' else ratio_wall
            goals.append(dict(model=model, reference=reference, variant=variant, limit=limit,
                              ratio_cpu=ratio_cpu, ratio_wall=ratio_wall,
                              met=primary <= limit))
    return dict(rows=rows, goals=goals, rounds=times['rounds'], clock=clock)


def deployment_goals(times: dict, clock: str) -> List[dict]:
    """Issue 13's goal ratios (medians of per-round ratios) from one round-robin's times.

    ``clock`` is 'cpu' or 'wall'. Cross-model goals are evaluated on each variant they
    name (``DEPLOYED``: every backend measured); LRNNet's backend/eager and INT8/fp32 ratios
    on every backend; the backend with LRNNet's lowest median is marked ``best``.
    """
    series = times[clock]
    present = {v for (_, v), s in series.items() if s}
    backends = sorted(v for v in present if v in BACKENDS)

    def ratio(a, b):
        if not series.get(a) or not series.get(b):
            return None
        return paired_ratio(series[a], series[b])

    lrnnet = {b: statistics.median(series[('LRNNet', b)]) for b in backends
              if series.get(('LRNNet', b))}
    best = min(lrnnet, key=lrnnet.get) if lrnnet else None
    goals = []

    def add(goal, variant, value, limit):
        if value is not None:
            goals.append(dict(goal=goal, variant=variant, ratio=value, limit=limit,
                              met=value <= limit, best=variant == best))

    for model, reference, limit, variants in DEPLOY_GOALS:
        for variant in [b for v in variants for b in (backends if v == DEPLOYED else [v])]:
            add(f'{model} <= {limit:g} x {reference}', variant,
                ratio((model, variant), (reference, variant)), limit)
    for model, limit, kind in SELF_GOALS:
        for backend in backends:
            if kind == 'fp32':
                add(f'{model} {{backend}} <= {limit:g} x {model} eager', backend,
                    ratio((model, backend), (model, 'fp32')), limit)
            else:
                add(f'{model} INT8 <= {limit:g} x {model} fp32, same backend',
                    f'{backend}-int8', ratio((model, f'{backend}-int8'), (model, backend)),
                    limit)
    for g in goals:
        g['goal'] = g['goal'].replace('{backend}', g['variant'])
    return goals


def deployment_markdown(runs: dict, device: str) -> str:
    """The Markdown of the backend columns: ``runs`` maps threads -> (summary, goals)."""
    cpu_name = device_description(device).split(',')[0]
    variants = []
    for summary, _ in runs.values():
        for row in summary['rows'].values():
            variants += [v for v in row['variants'] if v not in variants]
    order = ['fp32', 'fp32-fused', 'fp32-compiled'] + [v for b in BACKENDS
                                                       for v in (b, f'{b}-int8')]
    variants = [v for v in order if v in variants]
    label = {'fp32': 'pytorch', 'fp32-fused': 'pytorch, BN folded',
             'fp32-compiled': 'torch.compile'}
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on **{cpu_name}** ({os.cpu_count()} "
        f"cores); torch {torch.__version__}, {versions()}. Batch 1, random input, `logits` "
        'graph (network + resize to the input size) exported once per model by '
        '`lrseg_mm.apis.export_onnx` (static shape) and run the same way for every model; '
        'INT8: each backend\'s own post-training quantisation, calibrated on random '
        'input (which does not change the speed): `onnxruntime-int8` = '
        '`lrseg_mm.apis.quantize.quantize_int8` (ONNX Runtime static QDQ, per-channel '
        'weights), `openvino-int8` = `quantize_int8_openvino` (NNCF). `pytorch, BN folded` '
        '= eager with eval-mode BN folded into the convolutions of every model alike '
        '(`lrseg_mm.utils.fuse_conv_bn`); `torch.compile` = Inductor with freezing (weights '
        'as constants, BN folded, weights pre-packed), compiled before the rounds. '
        'Medians over round-robin rounds; ms = CPU time '
        'at 1 thread, wall time at more threads.', '',
        '| model | ' + ' | '.join(f"{label.get(v, v)}, {t} thr" for t in runs
                                   for v in variants) + ' |',
        '|---|' + '---:|' * (len(variants) * len(runs))]
    names = []
    for summary, _ in runs.values():
        names += [n for n in summary['rows'] if n not in names]
    for name in names:
        cells = []
        for threads, (summary, _) in runs.items():
            row = summary['rows'].get(name, {'variants': {}})
            key = 'cpu_ms' if threads == 1 else 'wall_ms'
            cells += [f"{row['variants'][v][key]:.0f}" if v in row['variants'] else '-'
                      for v in variants]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    lines += ['', '| threads | goal | variant | ratio | result |', '|---:|---|---|---:|---|']
    for threads, (_, goals) in runs.items():
        for g in goals:
            mark = ' (best backend)' if g['best'] else ''
            lines.append(f"| {threads} | {g['goal']} | {label.get(g['variant'], g['variant'])}"
                         f"{mark} | {g['ratio']:.3f} | {'met' if g['met'] else 'MISSED'} |")
    return '\n'.join(lines)


def versions() -> str:
    """Versions of the deployment runtimes that are installed."""
    found = []
    for name in ('onnxruntime', 'openvino'):
        try:
            found.append(f'{name} {__import__(name).__version__.split("-")[0]}')
        except ImportError:
            pass
    return ', '.join(found) or 'no deployment runtime'


def device_description(device: str) -> str:
    if device == 'cuda':
        return f'{torch.cuda.get_device_name()} (CUDA {torch.version.cuda})'
    return f'{cpu_model_name()}, {os.cpu_count()} cores, torch threads: {torch.get_num_threads()}'


def markdown(summary: dict, device: str, plot_name: Optional[str]) -> str:
    rows = summary['rows']
    cpu = device == 'cpu'
    lines = [
        f"Measured {time.strftime('%Y-%m-%d %H:%M')} on {device_description(device)}; "
        f"torch {torch.__version__}; {summary['rounds']} timed round-robin rounds; batch 1; "
        "mode 'logits' (network + resize of the logits to the input size); random weights; "
        'models as built from their configs. Latencies are medians over rounds'
        + ('; FPS = 1000 / CPU ms' if cpu else '') + '. MACs = multiply-adds of the '
        '`tensor` forward (tools/get_flops.py). mIoU is **as reported** by the paper (ours) '
        'or the mmseg model zoo (others), on the split named - not measured here.',
        '',
    ]
    main_variants = ['fp32'] if cpu else [v for v in variants_for(device)
                                          if any(v in r['variants'] for r in rows.values())]
    for title, shape in (('Cityscapes models, 512x1024', CITYSCAPES),
                         ('VOC models, 512x512', VOC)):
        group = [r for r in rows.values() if tuple(r['shape']) == shape]
        if not group:
            continue
        key = 'cpu_ms' if cpu else 'wall_ms'
        group.sort(key=lambda r: r['variants'].get('fp32', {}).get(key, float('inf')))
        lines += [f'#### {title}', '']
        if cpu:
            header, rule = ('| model | params | MACs | CPU ms | FPS | wall ms | reported mIoU |',
                            '|---|---:|---:|---:|---:|---:|---|')
        else:
            header = '| model | params | MACs |' + ''.join(
                f' {v} ms | {v} FPS |' for v in main_variants) + ' reported mIoU |'
            rule = '|---|---:|---:|' + '---:|---:|' * len(main_variants) + '---|'
        lines += [header, rule]
        for r in group:
            name = f"**{r['name']}** (ours)" if r['ours'] else r['name']
            cells = f"| {name} | {format_count(r['params'])} | {format_count(r['macs'])} |"
            for v in main_variants:
                m = r['variants'].get(v)
                if m is None:
                    cells += ' - | - | - |' if cpu else ' - | - |'
                elif cpu:
                    cells += f" {m['cpu_ms']:.0f} | {m['fps_cpu']:.2f} | {m['wall_ms']:.0f} |"
                else:
                    cells += f" {m['wall_ms']:.2f} | {m['fps_wall']:.1f} |"
            miou = f"{r['miou']:.1f} ({r['miou_source']})" if r['miou'] is not None else 'n/a'
            lines.append(cells + f' {miou} |')
        lines.append('')
    if cpu:
        extra = [v for v in variants_for(device) if v != 'fp32']
        goal_rows = [r for r in rows.values() if any(v in r['variants'] for v in extra)]
        if goal_rows:
            lines += ['#### Goal models under inference transforms (CPU ms, medians)', '',
                      '`fp32-fused`: eval-mode BN folded into the convolutions '
                      '(`lrseg_mm.utils.fuse_conv_bn`, same outputs up to float rounding); '
                      '`fp32-cl`: weights and input in channels-last memory format; '
                      '`fp32-compiled`: `torch.compile` (Inductor, freezing). Each is '
                      'applied to every model of the column alike.', '',
                      '| model | ' + ' | '.join(['fp32'] + extra) + ' |',
                      '|---|' + '---:|' * (1 + len(extra))]
            for r in goal_rows:
                cells = [f"{r['variants'][v]['cpu_ms']:.0f}" if v in r['variants'] else '-'
                         for v in ['fp32'] + extra]
                lines.append(f"| {r['name']} | " + ' | '.join(cells) + ' |')
            lines.append('')
    lines += ['#### Goals (latency ratios, medians of per-round ratios)', '',
              '| goal | variant | ratio, CPU time | ratio, wall time | result |',
              '|---|---|---:|---:|---|']
    for g in summary['goals']:
        lines.append(f"| {g['model']} <= {g['limit']:g} x {g['reference']} | {g['variant']} | "
                     f"{g['ratio_cpu']:.3f} | {g['ratio_wall']:.3f} | "
                     f"{'met' if g['met'] else 'MISSED'} |")
    lines += ['', f"A goal is judged on the {summary['clock']}-time ratio."]
    if plot_name:
        lines += ['', f'![FPS against parameters]({plot_name})']
    return '\n'.join(lines)


def _place_labels(ax, points):
    """Annotate (x, y, text, colour) points, moving a label when it would cover another.

    A greedy search over a few offsets with an approximate text box (display pixels)."""
    fig = ax.figure
    fig.canvas.draw()
    (x0, y0), (x1, y1) = ax.transAxes.transform((0, 0)), ax.transAxes.transform((1, 1))
    offsets = [(6, 4), (6, -22), (-8, 4), (-8, -22), (6, 16), (6, -34), (-8, 16), (-8, -34)]
    placed = []  # boxes to keep clear: the markers, then each placed label
    for x, y, _, _ in points:
        px, py = ax.transData.transform((x, y))
        placed.append((px - 7, py - 7, px + 7, py + 7))
    for x, y, text, colour in sorted(points, key=lambda p: -p[1]):
        px, py = ax.transData.transform((x, y))
        lines = text.split('\n')
        width, height = 5.6 * max(len(line) for line in lines), 11 * len(lines)
        for dx, dy in offsets:
            left = px + dx - (width if dx < 0 else 0)
            box = (left, py + dy, left + width, py + dy + height)
            inside = x0 <= box[0] and box[2] <= x1 and y0 <= box[1] and box[3] <= y1
            overlaps = any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3]
                           and b[1] < box[3] for b in placed)
            if inside and not overlaps:
                break
        placed.append(box)
        ax.annotate(text, (x, y), textcoords='offset points', xytext=(dx * 0.75, dy * 0.75),
                    fontsize=7.5, color=colour, ha='right' if dx < 0 else 'left',
                    va='bottom')


def plot(summary: dict, device: str, path: str, device_name: Optional[str] = None) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    key = 'fps_cpu' if device == 'cpu' else 'fps_wall'
    fig, axes = plt.subplots(1, 2, figsize=(15, 6.5))
    for ax, (title, shape) in zip(axes, (('Cityscapes models, 512x1024', CITYSCAPES),
                                         ('VOC models, 512x512', VOC))):
        points = []
        for r in summary['rows'].values():
            if tuple(r['shape']) != tuple(shape) or 'fp32' not in r['variants']:
                continue
            x, y = r['params'] / 1e6, r['variants']['fp32'][key]
            colour = 'tab:red' if r['ours'] else 'tab:blue'
            ax.scatter([x], [y], s=110 if r['ours'] else 45, marker='*' if r['ours'] else 'o',
                       color=colour, zorder=3)
            label = r['name'] + (f" - {r['miou']:.1f} mIoU*" if r['miou'] is not None else '')
            points.append((x, y, label, colour))
        ax.set_xscale('log')
        if points:
            xs = [p[0] for p in points]
            ax.set_xlim(min(xs) / 1.6, max(xs) * 3.0)
            ys = [p[1] for p in points]
            ax.set_ylim(0, max(ys) * 1.15)
        ax.set_xlabel('parameters (millions, log scale)')
        ax.set_ylabel('FPS, batch 1, fp32' + (' (1 / CPU time per image)' if device == 'cpu'
                                              else ''))
        ax.set_title(title)
        ax.grid(True, which='both', alpha=0.3)
        _place_labels(ax, points)
    fig.suptitle(f'FPS vs parameters on {device_name or device_description(device)}\n'
                 '* mIoU as REPORTED by the papers (red stars, ours) / the mmseg zoo (blue), '
                 'not measured here; splits differ (see BENCHMARKS.md)', fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Peer table of real-time segmentors')
    parser.add_argument('--quick', action='store_true',
                        help='2 timed rounds after 1 warm-up round, no time budget')
    parser.add_argument('--rounds', type=int, default=15, help='maximal timed rounds')
    parser.add_argument('--warmup', type=int, default=1, help='untimed rounds first')
    parser.add_argument('--budget-s', type=float, default=300,
                        help='stop timed rounds after this many seconds (at least 3 rounds)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None)
    parser.add_argument('--threads', type=int, nargs='+', default=[1],
                        help='CPU threads of torch and the backends (default 1, see '
                        'BENCHMARKS.md); several values: one round-robin per value')
    parser.add_argument('--backends', nargs='+', choices=BACKENDS, default=['pytorch'],
                        help="runtimes: 'pytorch' (eager; the default) and the exported "
                        'graph in onnxruntime / openvino (one column each)')
    parser.add_argument('--int8', action='store_true',
                        help='with --backends: also time the INT8 graph of LRNNet')
    parser.add_argument('--onnx-dir', default=None,
                        help='where exported graphs are cached (default: a temporary folder)')
    parser.add_argument('--no-extras', action='store_true',
                        help='on CPU, skip the BN-folded and channels-last columns of the '
                        'goal models')
    parser.add_argument('--eager-variants', nargs='+',
                        choices=sorted(set(variants_for('cpu') + variants_for('cuda'))),
                        help='eager PyTorch variants to measure (default: all of the '
                        "device's; 'fp32' always for every model)")
    parser.add_argument('--only', nargs='+',
                        help='measure only these models (names); the full peer table, its '
                        'plot and JSON are then left as they are, only the deployment '
                        'block is written')
    parser.add_argument('--no-svn', action='store_true', help='skip the SVN vs NL benchmark')
    parser.add_argument('--output', default=osp.join(REPO, 'BENCHMARKS.md'))
    parser.add_argument('--no-write', action='store_true', help='print, do not write files')
    parser.add_argument('--replot', metavar='JSON',
                        help='only redraw the plot from the JSON of an earlier run')
    args = parser.parse_args(argv)
    if args.device is None:
        args.device = 'cuda' if torch.cuda.is_available() else 'cpu'
    if args.quick:
        args.rounds, args.warmup, args.budget_s = 2, 1, None
    if min(args.threads) < 1:
        parser.error('--threads must be >= 1')
    if args.eager_variants is not None and 'fp32' not in args.eager_variants:
        args.eager_variants.append('fp32')  # every table and ratio is relative to it
    if args.device == 'cuda' and args.backends != ['pytorch']:
        parser.error('--backends onnxruntime/openvino are CPU backends: use --device cpu')
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.replot:
        with open(args.replot) as f:
            saved = json.load(f)
        suffix = 'cpu' if saved['device'] == 'cpu' else 'gpu'
        plot(saved['summary'], saved['device'], osp.join(REPO, f'benchmarks/fps_vs_params_'
                                                              f'{suffix}.png'),
             saved.get('device_name'))
        return saved['summary']
    started = time.time()
    print(f'device: {device_description(args.device)}')
    onnx_dir = args.onnx_dir or tempfile.mkdtemp(prefix='peer_table_onnx_')
    runs = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        entries = [copy.copy(e) for e in ENTRIES if not args.only or e.name in args.only]
        prepared = prepare(entries, args.device, extras=not args.no_extras,
                           backends=args.backends, threads=threads, int8=args.int8,
                           onnx_dir=onnx_dir, eager_variants=args.eager_variants)
        times = round_robin(prepared, args.rounds, args.warmup, args.budget_s)
        run_summary = summarise(prepared, times, args.device)
        clock = 'cpu' if threads == 1 and args.device == 'cpu' else 'wall'
        runs[threads] = (run_summary, deployment_goals(times, clock))
        del prepared
    summary = runs[args.threads[0]][0]
    torch.set_num_threads(args.threads[0])  # the main table describes the first run
    deployment = None
    if args.backends != ['pytorch'] or len(args.threads) > 1:
        deployment = deployment_markdown(runs, args.device)
        print(deployment)
    suffix = 'cpu' if args.device == 'cpu' else 'gpu'
    plot_rel = f'benchmarks/fps_vs_params_{suffix}.png'
    table = markdown(summary, args.device, None if args.no_write else plot_rel)
    print(table)
    svn = None
    if not args.no_svn:
        import svn_vs_nonlocal
        svn = svn_vs_nonlocal.run(rounds=6 if args.quick else 10, device=args.device)
        print(svn_vs_nonlocal.markdown(svn))
    total = time.time() - started
    print(f'peer table finished in {total:.0f} s')
    if args.no_write:
        return summary
    text = open(args.output).read() if osp.exists(args.output) else ''
    if deployment is not None:
        text = replace_marked_block(text, f'deploy-backends-{suffix}', deployment)
    if svn is not None:
        text = replace_marked_block(text, svn_vs_nonlocal.BLOCK_NAME + f'-{suffix}',
                                    svn_vs_nonlocal.markdown(svn))
    if args.only:
        print(f'--only: the peer-table block, {plot_rel} and the JSON are left as they are')
    else:
        plot(summary, args.device, osp.join(REPO, plot_rel))
        table += f'\n\nWhole run (set-up, rounds, SVN benchmark): {total:.0f} s.'
        text = replace_marked_block(text, f'peer-table-{suffix}', table)
        with open(osp.join(REPO, f'benchmarks/peer_table_{suffix}.json'), 'w') as f:
            json.dump(dict(summary=summary, svn=svn, seconds=total, device=args.device,
                           deployment={t: dict(summary=s, goals=g)
                                       for t, (s, g) in runs.items()},
                           device_name=device_description(args.device),
                           torch=torch.__version__), f, indent=1, default=str)
    with open(args.output, 'w') as f:
        f.write(text)
    return summary


if __name__ == '__main__':
    main()
