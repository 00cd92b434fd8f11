"""CamVid benchmark: train models from scratch with one recipe, evaluate on val, time them.

Every model of :data:`MODELS` trains from scratch on CamVid train (SegNet split, 11 classes,
360x480) with the shared recipe of ``configs/_base_/camvid_benchmark_recipe.py`` (configs in
``configs/camvid_benchmark/``) and the same budget, stated in epochs: iterations =
ceil(epochs x training images / batch). Each run goes through the toolbox Runner
(``tools/train.py`` in a subprocess, ``--resume``, so a run that is cut off continues where its
last checkpoint left it) into ``RUNS_DIR/e<epochs>-b<batch>/<model>-seed<seed>/``; its final
checkpoint is evaluated on CamVid val by ``tools/test.py`` (the toolbox's ``IoUMetric``) and
the run's ``result.json`` gets val mIoU and per-class IoU, parameters, multiply-adds at
360x480 and CPU latency at 360x480; a copy, with the run's learning curve, is kept in the
repository (``benchmarks/results/camvid/<budget>/``), since run folders do not outlast their
machine. ``report`` gathers the results of a budget into the marked sections of
BENCHMARKS.md, README.md and configs/lrnnet/README.md (ablations) and plots val mIoU against
CPU latency.

Usage::

    python benchmarks/camvid.py list
    python benchmarks/camvid.py run --models all --seeds 0             # train, evaluate, report
    python benchmarks/camvid.py run --models lrnnet-a lrnnet-c --seeds 0 1
    python benchmarks/camvid.py run --models lrnnet-c lrnnet-c-drop0 --seeds 0 1 --epochs 10
    python benchmarks/camvid.py report                                  # tables and plot only
    python benchmarks/camvid.py pictures --models lrnnet-c --seeds 0    # docs/camvid_*.png
    python benchmarks/camvid.py confusion --models lrnnet-c --seeds 0   # where pixels go

Finished steps are skipped (a run with ``result.json`` or an archived result is done; a
run with its final checkpoint only needs evaluating), so repeating a command after an
interruption continues it.
The CamVid frames are read from ``--data-root`` (default ``../shared/data/camvid`` next to
the checkout) and never copied; runs go outside the checkout (default ``~/runs/camvid``).
"""
import argparse
import glob
import json
import logging
import math
import os
import os.path as osp
import random
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_DIR = 'configs/camvid_benchmark'
DEFAULT_DATA_ROOT = osp.normpath(osp.join(REPO, '..', 'shared', 'data', 'camvid'))
DEFAULT_RUNS_DIR = osp.join('~', 'runs', 'camvid')
# Every finished run's result (with its learning curve) is also kept here, in the repository:
# run folders live outside the checkout and do not outlast the machine they were made on.
DEFAULT_ARCHIVE_DIR = osp.join(REPO, 'benchmarks', 'results', 'camvid')
CLASSES = ('sky', 'building', 'pole', 'road', 'pavement', 'tree', 'signsymbol', 'fence', 'car',
           'pedestrian', 'bicyclist')
SHORT_CLASS_NAMES = ('sky', 'bldg', 'pole', 'road', 'pvmt', 'tree', 'sign', 'fence', 'car',
                     'ped', 'bike')
INPUT_SHAPE = (360, 480)
SPLITS = (('train', 'trainannot'), ('val', 'valannot'))
# Training time between checkpoints; a cut-off run loses at most this much.
CHECKPOINT_EVERY_S = 15 * 60
MARKERS = {
    'benchmarks': ('<!-- camvid:start -->', '<!-- camvid:end -->'),
    'readme': ('<!-- camvid-summary:start -->', '<!-- camvid-summary:end -->'),
}


ABLATION_MARKER = '<!-- camvid-ablation '


def ablation_markers(tag: str) -> Tuple[str, str]:
    """Markers of the ablation table of one budget (e.g. ``e5-b4``): one table per budget."""
    return f'{ABLATION_MARKER}{tag}:start -->', f'{ABLATION_MARKER}{tag}:end -->'


@dataclass(frozen=True)
class Model:
    """One entry of the benchmark: a config plus, for ablation variants, its overrides.

    Attributes:
        name (str): Run name, used on the command line and in the run folders.
        title (str): Name in the tables.
        config (str): Config path relative to the repository.
        ours (bool): A model of this project.
        paper_pretrained (bool): The paper trains it from ImageNet weights; here it trains
            from scratch like every other entry, which the tables mark.
        seconds_per_iter (float): Training seconds per iteration at batch 4 on 360x480 crops,
            measured on the 2-core development CPU while other jobs loaded it (6-iteration
            smoke runs, 2026-12-02; about 2x an idle machine's). Sets the checkpoint interval
            to about :data:`CHECKPOINT_EVERY_S` of training or less.
        variant_of (str | None): For an ablation variant, the name of the model it changes.
        change (str): What an ablation variant changes, for the ablation table.
        options (tuple[str]): ``--cfg-options`` of the variant (key=value).
        in_benchmark (bool): A variant that is also a row of the benchmark table (where it
            ran at the benchmark's budget), beside the model it changes.
    """
    name: str
    title: str
    config: str
    ours: bool = False
    paper_pretrained: bool = False
    seconds_per_iter: float = 1.0
    variant_of: Optional[str] = None
    change: str = ''
    options: Tuple[str, ...] = ()
    in_benchmark: bool = False


def _cfg(name: str) -> str:
    return f'{CONFIG_DIR}/{name}_1xb4-30e_camvid-360x480.py'


_BENCHMARK = [
    Model('lrnnet-a', 'LRNNet Model A (no SVN)', _cfg('lrnnet-model-a'), ours=True,
          seconds_per_iter=2.3),
    Model('lrnnet-b', 'LRNNet Model B (SVN 8x8)', _cfg('lrnnet-model-b'), ours=True,
          seconds_per_iter=2.45),
    Model('lrnnet-c', 'LRNNet Model C (SVN 8x8+4x4)', _cfg('lrnnet-model-c'), ours=True,
          seconds_per_iter=2.45),
    Model('erfnet', 'ERFNet', _cfg('erfnet_fcn'), seconds_per_iter=6.0),
    Model('cgnet', 'CGNet', _cfg('cgnet_fcn'), seconds_per_iter=1.95),
    Model('fast-scnn', 'Fast-SCNN', _cfg('fast_scnn'), seconds_per_iter=2.55),
    Model('bisenetv2', 'BiSeNetV2', _cfg('bisenetv2_fcn'), seconds_per_iter=3.9),
    Model('shelfnet18-lw', 'ShelfNet18-lw', _cfg('shelfnet18-lw-scratch'), ours=True,
          paper_pretrained=True, seconds_per_iter=2.85),
    Model('rf-lw-mbv2', 'RF-LW-MobileNet-v2', _cfg('lw-refinenet-scratch_mbv2'), ours=True,
          paper_pretrained=True, seconds_per_iter=4.0),
]


def _variant(name: str, change: str, *options: str, in_benchmark: bool = False,
             of: str = 'lrnnet-c', title: Optional[str] = None) -> Model:
    base = next(m for m in _BENCHMARK if m.name == of)
    title = title or f'LRNNet Model {of[-1].upper()}, {change}'
    return Model(name, title, base.config, ours=True,
                 seconds_per_iter=base.seconds_per_iter, variant_of=base.name, change=change,
                 options=tuple(options), in_benchmark=in_benchmark)


def enet_class_weights(data_root: str, num_classes: int = 11) -> Tuple[List[int], List[float]]:
    """ENet's class weights ``1 / ln(1.02 + p)`` from the pixel frequencies ``p`` of the
    classes in CamVid train (void excluded): (pixel counts, weights rounded to 3 places)."""
    import cv2
    import numpy as np
    label_dir = osp.join(data_root, 'trainannot')
    files = sorted(glob.glob(osp.join(label_dir, '*.png')))
    if not files:
        raise FileNotFoundError(f'no label maps in {label_dir}')
    counts = np.zeros(num_classes, np.int64)
    for path in files:
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        counts += np.bincount(label.ravel(), minlength=256)[:num_classes]
    freq = counts / counts.sum()
    return counts.tolist(), [round(float(w), 3) for w in 1 / np.log(1.02 + freq)]


# `enet_class_weights` of the SegNet CamVid train split (367 frames; `python
# benchmarks/camvid.py class-weights` recomputes them): rare thin classes (pole, sign,
# fence, pedestrian, bicyclist) weigh 9-13x the road.
CAMVID_ENET_WEIGHTS = (5.603, 4.295, 33.574, 3.335, 15.486, 8.739, 31.542, 32.012, 12.829,
                       38.014, 43.907)

_NO_DROPOUT = ('model.backbone.drop_rates=(0.,0.,0.)', 'model.decode_head.dropout_ratio=0.')
# our loss: mmseg 1.2.2's cross-entropy fails on class weights with ignored pixels
_CLASS_WEIGHTS = ("model.decode_head.loss_decode.type='KeptPixelsCrossEntropyLoss'",
                  'model.decode_head.loss_decode.class_weight='
                  f'[{",".join(map(str, CAMVID_ENET_WEIGHTS))}]')

# Item 4 of issue #10: the choices the paper leaves open in our reconstruction, each as a
# config-level change of Model C (or A). Compare them with lrnnet-c at the same budget and seeds.
_ABLATIONS = [
    # the largest effect of the 5-epoch ablations, so also trained at the benchmark's budget
    _variant('lrnnet-c-drop0', 'no dropout (encoder 0, 0, 0; head 0)', *_NO_DROPOUT,
             in_benchmark=True),
    # the SVN head's effect (Model C against B and A) under the no-dropout defaults
    _variant('lrnnet-a-drop0', 'no SVN block (Model A), no dropout', *_NO_DROPOUT,
             in_benchmark=True, of='lrnnet-a', title='LRNNet Model A, no dropout'),
    _variant('lrnnet-b-drop0', 'SVN 8x8 only (Model B), no dropout', *_NO_DROPOUT,
             in_benchmark=True, of='lrnnet-b', title='LRNNet Model B, no dropout'),
    # the two changes that gained at 5 epochs, together
    _variant('lrnnet-c-drop0-classweights', 'no dropout and ENet class weights',
             *_NO_DROPOUT, *_CLASS_WEIGHTS),
    _variant('lrnnet-c-drop-low', 'encoder dropout 0.01, 0.01, 0.1',
             'model.backbone.drop_rates=(0.01,0.01,0.1)'),
    _variant('lrnnet-c-headdrop0', 'head dropout 0', 'model.decode_head.dropout_ratio=0.'),
    _variant('lrnnet-c-cls16', 'classifier width 16', 'model.decode_head.channels=16'),
    _variant('lrnnet-c-cls48', 'classifier width 48', 'model.decode_head.channels=48'),
    _variant('lrnnet-c-svn16', 'SVN reduced channels 16', 'model.decode_head.svn_channels=16'),
    _variant('lrnnet-c-svn64', 'SVN reduced channels 64', 'model.decode_head.svn_channels=64'),
    _variant('lrnnet-c-noscale', 'attention without 1/sqrt(d) scale',
             'model.decode_head.use_scale=False'),
    _variant('lrnnet-c-lr1e-3', 'lr 1e-3', 'optim_wrapper.optimizer.lr=1e-3'),
    _variant('lrnnet-c-lr5e-3', 'lr 5e-3', 'optim_wrapper.optimizer.lr=5e-3'),
    _variant('lrnnet-c-wd0', 'weight decay 0', 'optim_wrapper.optimizer.weight_decay=0.'),
    _variant('lrnnet-c-classweights', 'ENet class weights in the loss (a recipe change)',
             *_CLASS_WEIGHTS),
    _variant('lrnnet-c-pairnorm', 'FCB branches normalise once per conv pair (ERFNet/LEDNet)',
             "model.backbone.fcb_branch_norm='pair'"),
]
MODELS: Dict[str, Model] = {m.name: m for m in _BENCHMARK + _ABLATIONS}
BENCHMARK_NAMES = [m.name for m in _BENCHMARK]


# --------------------------------------------------------------------------- data and budget


def check_camvid_root(data_root: str) -> Dict[str, int]:
    """Check that a folder holds CamVid train and val in the SegNet layout.

    Args:
        data_root (str): The folder.

    Returns:
        dict: Number of images per split, e.g. ``{'train': 367, 'val': 101}``.

    Raises:
        FileNotFoundError: If a split folder, its images or a label of an image is missing.
    """
    layout = ('{train,val}/*.png images and {train,val}annot/*.png labels of the same names '
              '(ids 0..10, 11 = void), as in the SegNet tutorial')
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'CamVid data root {data_root} does not exist (expected '
                                f'{layout}); pass --data-root')
    counts = {}
    for images, labels in SPLITS:
        image_dir, label_dir = osp.join(data_root, images), osp.join(data_root, labels)
        missing = [d for d in (image_dir, label_dir) if not osp.isdir(d)]
        if missing:
            raise FileNotFoundError(f'{data_root} does not have the CamVid layout: no '
                                    f'{", ".join(missing)} (expected {layout})')
        names = sorted(f for f in os.listdir(image_dir) if f.endswith('.png'))
        if not names:
            raise FileNotFoundError(f'{image_dir} holds no .png images (expected {layout})')
        unlabelled = [n for n in names if not osp.isfile(osp.join(label_dir, n))]
        if unlabelled:
            raise FileNotFoundError(f'{len(unlabelled)} image(s) of {image_dir} have no label '
                                    f'in {label_dir}, e.g. {unlabelled[0]} (expected {layout})')
        counts[images] = len(names)
    return counts


@dataclass(frozen=True)
class Budget:
    """The training budget shared by every run of one benchmark.

    Attributes:
        epochs (float): Passes over the training images (None when ``max_iters`` is forced).
        batch_size (int): Images per iteration.
        train_images (int): Training images found in the data root.
        max_iters (int): Iterations = ceil(epochs x train_images / batch_size).
    """
    epochs: Optional[float]
    batch_size: int
    train_images: int
    max_iters: int

    @classmethod
    def make(cls, train_images: int, batch_size: int, epochs: Optional[float] = None,
             max_iters: Optional[int] = None) -> 'Budget':
        if batch_size < 1:
            raise ValueError(f'--batch-size must be at least 1, got {batch_size}')
        if max_iters is None:
            if epochs is None or epochs <= 0:
                raise ValueError(f'--epochs must be positive, got {epochs}')
            max_iters = math.ceil(epochs * train_images / batch_size)
        elif max_iters < 1:
            raise ValueError(f'--max-iters must be at least 1, got {max_iters}')
        else:
            epochs = None  # a forced iteration count is not an epoch budget
        return cls(epochs, batch_size, train_images, max_iters)

    @property
    def seen_epochs(self) -> float:
        """Epochs actually seen: iterations x batch / training images."""
        return self.max_iters * self.batch_size / self.train_images

    @property
    def tag(self) -> str:
        """Folder of this budget's runs, e.g. ``e30-b4`` (``i2-b2`` for a forced max_iters)."""
        if self.epochs is not None:
            return f'e{self.epochs:g}-b{self.batch_size}'
        return f'i{self.max_iters}-b{self.batch_size}'

    def as_dict(self) -> dict:
        return dict(epochs=self.epochs, seen_epochs=round(self.seen_epochs, 3),
                    batch_size=self.batch_size, train_images=self.train_images,
                    iterations=self.max_iters, crop=list(INPUT_SHAPE))


def checkpoint_interval(model: Model, budget: Budget) -> int:
    """Iterations between checkpoints: about :data:`CHECKPOINT_EVERY_S` of training."""
    seconds = model.seconds_per_iter * budget.batch_size / 4
    interval = max(10, int(round(CHECKPOINT_EVERY_S / seconds / 10.0)) * 10)
    return min(interval, budget.max_iters)


# --------------------------------------------------------------------------- runs


@dataclass
class Run:
    """One training run: a model, a seed and a budget, in its own work dir."""
    model: Model
    seed: int
    budget: Budget
    runs_dir: str

    @property
    def name(self) -> str:
        return f'{self.model.name}-seed{self.seed}'

    @property
    def work_dir(self) -> str:
        return osp.join(self.runs_dir, self.budget.tag, self.name)

    @property
    def final_checkpoint(self) -> str:
        return osp.join(self.work_dir, f'iter_{self.budget.max_iters}.pth')

    @property
    def result_path(self) -> str:
        return osp.join(self.work_dir, 'result.json')

    def data_options(self, data_root: str, workers: Optional[int]) -> List[str]:
        options = [f'{loader}.dataset.data_root={data_root}'
                   for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
        if workers is not None:
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
                options += [f'{loader}.num_workers={workers}',
                            f'{loader}.persistent_workers={workers > 0}']
        return options

    def train_options(self, data_root: str, workers: Optional[int]) -> List[str]:
        n = self.budget.max_iters
        return self.data_options(data_root, workers) + [
            f'train_dataloader.batch_size={self.budget.batch_size}',
            f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}',
            f'param_scheduler.0.end={n}',
            f'default_hooks.checkpoint.interval={checkpoint_interval(self.model, self.budget)}',
            'default_hooks.checkpoint.max_keep_ckpts=2',
            f'randomness.seed={self.seed}',
            # evaluation on val is done once, on the final checkpoint, by tools/test.py
            'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
        ] + list(self.model.options)


def _tool_env(threads: Optional[int]) -> dict:
    env = dict(os.environ, OMP_WAIT_POLICY='PASSIVE', PYTHONUNBUFFERED='1')
    if threads:
        env['OMP_NUM_THREADS'] = str(threads)
    return env


def _run_tool(args: List[str], log_path: str, threads: Optional[int], quiet: bool) -> None:
    """Run a repository tool; stream its output (unless quiet) and keep it in ``log_path``."""
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    with open(log_path, 'a') as log:
        log.write(f'\n$ {" ".join(args)}\n')
        log.flush()
        process = subprocess.Popen(args, cwd=REPO, env=_tool_env(threads),
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        tail = []
        for line in process.stdout:
            log.write(line)
            log.flush()  # the file can be followed (tail -f) while the tool runs
            tail = (tail + [line])[-40:]
            if not quiet:
                sys.stdout.write(line)
                sys.stdout.flush()
        code = process.wait()
    if code != 0:
        raise RuntimeError(f'{args[1]} failed with exit status {code}; its output is in '
                           f'{log_path}. Last lines:\n{"".join(tail)}')


def train(run: Run, data_root: str, extra_options: Sequence[str] = (), workers=None,
          threads=None, quiet=False) -> None:
    """Train a run to its final checkpoint through ``tools/train.py --resume``.

    A run whose final checkpoint exists is left alone; an interrupted one continues from its
    last checkpoint.
    """
    if osp.isfile(run.final_checkpoint):
        return
    args = [sys.executable, osp.join(REPO, 'tools', 'train.py'), osp.join(REPO, run.model.config),
            '--work-dir', run.work_dir, '--resume', '--cfg-options',
            *run.train_options(data_root, workers), *extra_options]
    _run_tool(args, osp.join(run.work_dir, 'benchmark_train.log'), threads, quiet)
    if not osp.isfile(run.final_checkpoint):
        raise RuntimeError(f'training of {run.name} ended without {run.final_checkpoint}')


# --------------------------------------------------------------------------- evaluation


def _newest_test_log_dir(eval_dir: str) -> str:
    candidates = [d for d in glob.glob(osp.join(eval_dir, '*')) if osp.isdir(d)
                  and osp.isfile(osp.join(d, osp.basename(d) + '.log'))]
    if not candidates:
        raise RuntimeError(f'tools/test.py left no log in {eval_dir}')
    return max(candidates, key=osp.getmtime)


def parse_test_log(log_dir: str) -> dict:
    """Val metrics of one ``tools/test.py`` run from the files its Runner wrote.

    The summary (aAcc, mIoU, mAcc) comes from the Runner's ``<timestamp>.json``; the per-class
    IoU and accuracy from the table the toolbox's ``IoUMetric`` writes to ``<timestamp>.log``
    (it logs them but does not return them). The per-class IoUs are checked against mIoU.

    Returns:
        dict: ``{'mIoU', 'aAcc', 'mAcc', 'IoU': {class: value}, 'Acc': {class: value}}``,
        percentages; a class absent from both prediction and labels has ``None``.
    """
    stamp = osp.basename(log_dir)
    with open(osp.join(log_dir, stamp + '.json')) as f:
        summary = json.loads(f.read().strip().splitlines()[-1])
    with open(osp.join(log_dir, stamp + '.log')) as f:
        text = f.read()
    start = text.rfind('per class results:')
    if start < 0:
        raise RuntimeError(f'no per-class table of IoUMetric in {log_dir}/{stamp}.log')
    iou, acc = {}, {}
    for line in text[start:].splitlines()[1:]:
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) >= 3 and cells[0] in CLASSES:
            iou[cells[0]] = None if cells[1] == 'nan' else float(cells[1])
            acc[cells[0]] = None if cells[2] == 'nan' else float(cells[2])
        if len(iou) == len(CLASSES):
            break
    if set(iou) != set(CLASSES):
        raise RuntimeError(f'per-class table in {log_dir}/{stamp}.log lacks classes '
                           f'{sorted(set(CLASSES) - set(iou))}')
    present = [v for v in iou.values() if v is not None]
    mean = sum(present) / len(present) if present else float('nan')
    if abs(mean - summary['mIoU']) > 0.02:
        raise RuntimeError(f'per-class IoUs of {log_dir} average {mean:.2f}, not the logged '
                           f'mIoU {summary["mIoU"]}')
    # the Runner logs float32 values (56.5099983...); IoUMetric rounds to 2 decimals
    summary = {k: round(float(summary[k]), 2) for k in ('mIoU', 'aAcc', 'mAcc') if k in summary}
    return dict(mIoU=summary['mIoU'], aAcc=summary.get('aAcc'), mAcc=summary.get('mAcc'),
                IoU={c: iou[c] for c in CLASSES}, Acc={c: acc[c] for c in CLASSES})


def evaluate_on_val(run: Run, data_root: str, extra_options: Sequence[str] = (), workers=None,
                    threads=None, quiet=False) -> dict:
    """Evaluate the run's final checkpoint on CamVid val with ``tools/test.py``."""
    eval_dir = osp.join(run.work_dir, 'eval')
    args = [sys.executable, osp.join(REPO, 'tools', 'test.py'), osp.join(REPO, run.model.config),
            run.final_checkpoint, '--work-dir', eval_dir, '--cfg-options',
            *run.data_options(data_root, workers), *run.model.options, *extra_options]
    _run_tool(args, osp.join(run.work_dir, 'benchmark_eval.log'), threads, quiet)
    return parse_test_log(_newest_test_log_dir(eval_dir))


def training_seconds_per_iter(work_dir: str) -> Optional[float]:
    """Median logged training time per iteration over all sittings of a run."""
    times = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'time' in record and 'loss' in record:
                    times.append(record['time'])
    return round(statistics.median(times), 4) if times else None


# The main head's training loss, comparable across models (auxiliary heads add their own
# terms to 'loss'); 'loss' only where a model logs no main-head term.
CURVE_KEYS = ('decode.loss_ce', 'loss')


def learning_curve(work_dir: str) -> Optional[Tuple[List[int], List[float], str]]:
    """Logged training loss of a run over all its sittings: (iterations, losses, key).

    Sittings are read in the order of their time-stamped folders; an iteration logged by
    two sittings (a resume repeats the last interval) keeps the later value. None when
    the run has no log yet.
    """
    records = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                record = json.loads(line)
                if 'step' in record and 'time' in record and 'loss' in record:
                    records[int(record['step'])] = record
    if not records:
        return None
    key = next(k for k in CURVE_KEYS if all(k in r for r in records.values()))
    steps = sorted(records)
    return steps, [float(records[i][key]) for i in steps], key


def moving_average(values: Sequence[float], window: int) -> List[float]:
    """Trailing mean over up to ``window`` values (the first ones average what exists)."""
    if window < 1:
        raise ValueError(f'window must be >= 1, got {window}')
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def plot_learning_curves(results: List[dict], path: str, window: int = 10) -> List[str]:
    """Training loss against epochs, one line per run; returns the runs drawn (no file is
    written when no run has a logged curve)."""
    curves = []
    for result in sorted(results, key=lambda r: (r['model'], r['seed'])):
        curve = learning_curve(osp.dirname(result['checkpoint']))
        if curve is None and result.get('curve'):
            curve = (result['curve']['steps'], result['curve']['values'],
                     result['curve']['key'])
        if curve is not None:
            curves.append((result, curve))
    if not curves:
        return []
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=90)
    drawn = []
    for result, (steps, losses, key) in curves:
        budget = result['budget']
        epochs = [i * budget['batch_size'] / budget['train_images'] for i in steps]
        label = f"{_described(result, 'title')} (seed {result['seed']})" + \
            ('' if key == CURVE_KEYS[0] else f' [{key}]')
        ax.plot(epochs, moving_average(losses, window), lw=1.2, label=label,
                ls='-' if result['ours'] else '--')
        drawn.append(f"{result['model']}-seed{result['seed']}")
    ax.set_xlabel('epochs of CamVid train')
    ax.set_ylabel(f'main-head training loss (mean of {window} logged values)')
    ax.set_yscale('log')
    ax.grid(alpha=0.3, which='both')
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return drawn


# --------------------------------------------------------------------------- model figures


def load_config(config: str, options: Sequence[str] = ()):
    """A config of this repository with ``--cfg-options``-style ``key=value`` overrides."""
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(osp.join(REPO, config))
    if options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--o', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--o', *options]).o)
    return cfg


def build_model(config: str, options: Sequence[str] = ()):
    """The config's segmentor with random weights, in eval mode, SyncBN reverted to BN."""
    from mmengine.logging import MMLogger
    from mmengine.model import revert_sync_batchnorm
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS as SEG_MODELS

    import lrseg_mm  # noqa: F401  (registers this project's modules)

    cfg = load_config(config, options)
    init_default_scope('mmseg')
    model = SEG_MODELS.build(cfg.model)
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)  # not mmengine's report of every initialised weight
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)
    return revert_sync_batchnorm(model).eval()


def model_size(model) -> Tuple[int, int]:
    """(parameters of the inference path, multiply-adds at 360x480)."""
    import torch

    from lrseg_mm.utils.flops import count_macs, count_parameters
    params = count_parameters(model, exclude=('auxiliary_head', ))
    macs = count_macs(model, torch.zeros(1, 3, *INPUT_SHAPE)).macs
    return params, macs


def measure_latency(models: Dict[str, object], rounds: int = 20, warmup: int = 3,
                    threads: int = 1) -> Dict[str, dict]:
    """Batch-1 CPU latency at 360x480 of several models, timed round-robin.

    Each round calls every model once, in a shuffled order (network and the resize of the
    logits to the input, ``encode_decode``; random weights, the time does not depend on
    them) on the same random image, so load from other processes hits all
    models alike; medians over the rounds are reported, as wall time and as this process's
    CPU time (with one thread, what the call costs an otherwise idle core).

    Args:
        models (dict): Name -> segmentor in eval mode.
        rounds (int): Timed rounds. Default: 20.
        warmup (int): Untimed rounds first. Default: 3.
        threads (int): ``torch.set_num_threads``. Default: 1.

    Returns:
        dict: Name -> ``{'cpu_ms', 'wall_ms', 'threads', 'rounds', 'cpu'}``.
    """
    import torch

    from lrseg_mm.utils import cpu_model_name
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    image = torch.randn(1, 3, *INPUT_SHAPE)
    metas = [dict(img_shape=INPUT_SHAPE, ori_shape=INPUT_SHAPE, pad_shape=INPUT_SHAPE)]
    wall = {name: [] for name in models}
    cpu = {name: [] for name in models}
    order = list(models)
    shuffler = random.Random(0)
    with torch.no_grad():
        for i in range(warmup + rounds):
            shuffler.shuffle(order)  # no model always runs right after the same one
            for name in order:
                model = models[name]
                w0, c0 = time.perf_counter(), time.process_time()
                model.encode_decode(image, metas)
                c1, w1 = time.process_time(), time.perf_counter()
                if i >= warmup:
                    wall[name].append((w1 - w0) * 1e3)
                    cpu[name].append((c1 - c0) * 1e3)
    return {name: dict(cpu_ms=round(statistics.median(cpu[name]), 2),
                       wall_ms=round(statistics.median(wall[name]), 2), threads=threads,
                       rounds=rounds, cpu=cpu_model_name()) for name in models}


def result_name(result: dict) -> str:
    return f"{result['model']}-seed{result['seed']}"


def save_result(result: dict, archive_dir: Optional[str]) -> None:
    """Write a result into its run folder (where that still exists) and the archive."""
    paths = []
    if osp.isdir(osp.dirname(result['checkpoint'])):
        paths.append(osp.join(osp.dirname(result['checkpoint']), 'result.json'))
    if archive_dir:
        os.makedirs(osp.join(archive_dir, result['tag']), exist_ok=True)
        paths.append(osp.join(archive_dir, result['tag'], result_name(result) + '.json'))
    for path in paths:
        with open(path, 'w') as f:
            json.dump(result, f, indent=1)
            f.write('\n')


def write_result(run: Run, val: dict, params: int, macs: int, latency: dict,
                 archive_dir: Optional[str] = None) -> dict:
    curve = learning_curve(run.work_dir)
    result = dict(
        model=run.model.name, title=run.model.title, config=run.model.config, seed=run.seed,
        variant_of=run.model.variant_of, change=run.model.change,
        cfg_options=list(run.model.options), ours=run.model.ours, from_scratch=True,
        paper_pretrained=run.model.paper_pretrained, budget=run.budget.as_dict(),
        checkpoint=run.final_checkpoint, val=val, params=params, macs=macs,
        input_shape=list(INPUT_SHAPE), latency=latency,
        train_seconds_per_iter=training_seconds_per_iter(run.work_dir),
        tag=run.budget.tag, written=time.strftime('%Y-%m-%d %H:%M:%S'),
        curve=None if curve is None else dict(
            key=curve[2], steps=curve[0], values=[round(v, 4) for v in curve[1]]))
    save_result(result, archive_dir)
    return result


def evaluate(run: Run, data_root: str, extra_options: Sequence[str] = (), workers=None,
             threads=None, latency_rounds=20, latency_threads=1, quiet=False,
             archive_dir: Optional[str] = None) -> dict:
    """Val metrics, size and latency of a trained run, written to its ``result.json``."""
    val = evaluate_on_val(run, data_root, extra_options, workers, threads, quiet)
    model = build_model(run.model.config, run.model.options)
    params, macs = model_size(model)
    latency = measure_latency({run.name: model}, rounds=latency_rounds,
                              threads=latency_threads)[run.name]
    return write_result(run, val, params, macs, latency, archive_dir)


def remeasure_latency(results: List[dict], rounds: int, threads: int,
                      archive_dir: Optional[str] = None) -> None:
    """Time every model of ``results`` round-robin in one go; update their result files."""
    configs = {}
    for result in results:
        configs.setdefault(result['model'], (result['config'], result['cfg_options']))
    models = {name: build_model(config, options) for name, (config, options) in configs.items()}
    latency = measure_latency(models, rounds=rounds, threads=threads)
    for result in results:
        result['latency'] = latency[result['model']]
        save_result(result, archive_dir)


# --------------------------------------------------------------------------- report


def load_results(budget_dir: str, archive_dir: Optional[str] = None) -> List[dict]:
    """The results of a budget: its run folders' ``result.json`` files, and the archived
    results (``archive_dir/<budget tag>/``) of runs whose folder is gone."""
    paths = []
    if archive_dir:
        paths += sorted(glob.glob(osp.join(archive_dir, osp.basename(budget_dir), '*.json')))
    paths += sorted(glob.glob(osp.join(budget_dir, '*', 'result.json')))
    results = {}
    for path in paths:  # a run folder's result replaces its archived copy
        with open(path) as f:
            result = json.load(f)
        # results written before the archive existed lack these two
        result.setdefault('tag', osp.basename(budget_dir))
        if 'curve' not in result:
            curve = learning_curve(osp.dirname(result['checkpoint']))
            result['curve'] = None if curve is None else dict(
                key=curve[2], steps=curve[0], values=[round(v, 4) for v in curve[1]])
        results[result_name(result)] = result
    return [results[name] for name in sorted(results)]


@dataclass
class Aggregate:
    """The runs (seeds) of one model, summarised."""
    model: str
    runs: List[dict] = field(default_factory=list)

    @property
    def first(self) -> dict:
        return self.runs[0]

    @property
    def mious(self) -> List[float]:
        return [r['val']['mIoU'] for r in self.runs]

    @property
    def miou(self) -> float:
        return statistics.mean(self.mious)

    def class_iou(self, name: str) -> Optional[float]:
        values = [r['val']['IoU'][name] for r in self.runs if r['val']['IoU'][name] is not None]
        return statistics.mean(values) if values else None

    @property
    def cpu_ms(self) -> float:
        return statistics.median(r['latency']['cpu_ms'] for r in self.runs)

    def miou_text(self) -> str:
        """``'56.3'`` for one seed, ``'56.3 ± 1.2 (2 seeds)'`` (± half the range) for more."""
        if len(self.runs) == 1:
            return f'{self.miou:.1f}'
        spread = (max(self.mious) - min(self.mious)) / 2
        return f'{self.miou:.1f} ± {spread:.1f} ({len(self.runs)} seeds)'


def in_benchmark_table(result: dict) -> bool:
    """A row of the benchmark table: a benchmark model, or a variant marked for it."""
    model = MODELS.get(result['model'])
    return not result['variant_of'] or (model is not None and model.in_benchmark)


def aggregate(results: List[dict]) -> Dict[str, Aggregate]:
    groups: Dict[str, Aggregate] = {}
    for result in sorted(results, key=lambda r: r['seed']):
        groups.setdefault(result['model'], Aggregate(result['model'])).runs.append(result)
    return groups


def _order(names) -> List[str]:
    known = list(MODELS)
    return sorted(names, key=lambda n: (known.index(n) if n in known else len(known), n))


def _count(value: float) -> str:
    for scale, prefix in ((1e9, 'G'), (1e6, 'M'), (1e3, 'K')):
        if value >= scale:
            return f'{value / scale:.2f} {prefix}'
    return f'{value:.0f}'


def _described(result: dict, key: str) -> str:
    """A result's model ``title`` or ``change`` as the code names it now (the archived
    text for a model no longer defined), so renaming a model renames its archived runs."""
    model = MODELS.get(result['model'])
    return getattr(model, key) if model is not None else result[key]


def _title(agg: Aggregate) -> str:
    first = agg.first
    title = _described(first, 'title')
    title = f'**{title}** (ours)' if first['ours'] else title
    return title + (' †' if first['paper_pretrained'] else '')


def _budget_line(results: List[dict]) -> str:
    budget = results[0]['budget']
    latency = results[0]['latency']
    epochs = f'{budget["epochs"]:g} epochs' if budget['epochs'] is not None else \
        f'{budget["seen_epochs"]:g} epochs'
    return (f'Budget: {epochs} of CamVid train ({budget["train_images"]} frames) = '
            f'{budget["iterations"]} iterations x batch {budget["batch_size"]} on '
            f'{budget["crop"][0]}x{budget["crop"][1]} crops, from scratch, one recipe for every '
            f'model (`configs/_base_/camvid_benchmark_recipe.py`: Adam, poly decay, random '
            f'resize 0.5-2.0 + crop + flip + photometric distortion, no class weights). '
            f'mIoU: CamVid **val** (101 frames, 11 classes, void ignored), the toolbox\'s '
            f'`IoUMetric`; mean over seeds, ± half the range. CPU ms: batch 1 at 360x480 '
            f'(network + resize of the logits), median of {latency["rounds"]} round-robin '
            f'rounds, process CPU time, {latency["threads"]} thread(s), {latency["cpu"]}. '
            f'MACs: multiply-adds at 360x480 (`lrseg_mm.utils.flops`); params: inference path '
            f'(auxiliary heads excluded).')


def benchmark_table(groups: Dict[str, Aggregate], with_classes: bool = True) -> str:
    header = ['model', 'params', 'MACs @360x480', 'CPU ms', 'val mIoU']
    if with_classes:
        header += list(SHORT_CLASS_NAMES)
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|']
    for name in _order(groups):
        agg = groups[name]
        row = [_title(agg), _count(agg.first['params']), _count(agg.first['macs']),
               f'{agg.cpu_ms:.0f}', agg.miou_text()]
        if with_classes:
            row += ['-' if agg.class_iou(c) is None else f'{agg.class_iou(c):.1f}'
                    for c in CLASSES]
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


# Rows of the ablation table besides Model C's variants: the paper's own head ablation.
HEAD_VARIANTS = {'lrnnet-a': 'head without SVN block (Model A)',
                 'lrnnet-b': 'SVN with the 8x8 grid only (Model B)'}
# Classes the ablation table shows one by one: those Model C misses at 30 epochs.
ABLATION_CLASSES = ('pole', 'signsymbol', 'car', 'pedestrian', 'bicyclist')


def final_training_loss(result: dict, last: int = 10) -> Optional[float]:
    """Mean of the last ``last`` logged main-head training losses of a run."""
    curve = result.get('curve')  # load_results fills it for results written without one
    return statistics.mean(curve['values'][-last:]) if curve else None


def ablation_groups(groups: Dict[str, Aggregate]) -> Dict[str, Aggregate]:
    """The rows of the ablation table: Model C, its variants and Models A and B."""
    return {n: g for n, g in groups.items()
            if g.first['variant_of'] or n == 'lrnnet-c' or n in HEAD_VARIANTS}


def ablation_table(groups: Dict[str, Aggregate]) -> str:
    """Model C's ablation variants (and Models A, B) against Model C (same budget), with
    the IoU of the classes Model C misses and the final training loss (underfitting)."""
    short = dict(zip(CLASSES, SHORT_CLASS_NAMES))
    lines = ['| variant | change | params | val mIoU | Δ mIoU vs Model C | '
             + ' | '.join(short[c] for c in ABLATION_CLASSES) + ' | final train loss |',
             '|---|---|---:|---:|---:|' + '---:|' * (len(ABLATION_CLASSES) + 1)]
    base = groups.get('lrnnet-c')
    names = ['lrnnet-c'] + [n for n in _order(groups)
                            if n in HEAD_VARIANTS or groups[n].first['variant_of']]
    for name in names:
        if name not in groups:
            continue
        agg = groups[name]
        delta = '' if base is None or name == 'lrnnet-c' else f'{agg.miou - base.miou:+.1f}'
        change = _described(agg.first, 'change') or HEAD_VARIANTS.get(name, 'defaults (Model C)')
        classes = ['-' if agg.class_iou(c) is None else f'{agg.class_iou(c):.1f}'
                   for c in ABLATION_CLASSES]
        losses = [x for x in map(final_training_loss, agg.runs) if x is not None]
        loss = f'{statistics.mean(losses):.3f}' if losses else '-'
        lines.append(f'| `{name}` | {change} | {agg.first["params"]:,} | {agg.miou_text()} | '
                     f'{delta} | ' + ' | '.join(classes) + f' | {loss} |')
    return '\n'.join(lines)


def replace_marked(path: str, markers: Tuple[str, str], body: str,
                   after: Optional[str] = None) -> None:
    """Replace the text between two marker lines of a file (the markers stay).

    Args:
        path (str): The file.
        markers (tuple[str, str]): Start and end marker lines.
        body (str): The new text between them.
        after (str | None): If given and the file lacks the markers, a new marked section
            is put after the last line that starts with this text (at the end of the file
            if none does) instead of raising.

    Raises:
        ValueError: If the file lacks the markers (and ``after`` is not given) or has
            them out of order.
    """
    with open(path) as f:
        text = f.read()
    start, end = markers
    if after is not None and start not in text and end not in text:
        lines = text.splitlines(keepends=True)
        last = max((k for k, line in enumerate(lines) if line.startswith(after)), default=None)
        cut = len(text) if last is None else len(''.join(lines[:last + 1]))
        head = text[:cut] if text[:cut].endswith('\n') or not cut else text[:cut] + '\n'
        text = head + '\n' + start + '\n' + end + '\n' + text[cut:]
    i, j = text.find(start), text.find(end)
    if i < 0 or j < i:
        raise ValueError(f'{path} has no "{start}" ... "{end}" section to write into')
    with open(path, 'w') as f:
        f.write(text[:i + len(start)] + '\n' + body.strip('\n') + '\n' + text[j:])


def plot(groups: Dict[str, Aggregate], path: str, title: str) -> None:
    """Val mIoU against CPU latency, one point per model (seed range as error bar)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=90)
    for name in _order(groups):
        agg = groups[name]
        ours = agg.first['ours']
        low, high = agg.miou - min(agg.mious), max(agg.mious) - agg.miou
        ax.errorbar(agg.cpu_ms, agg.miou, yerr=[[low], [high]], fmt='o' if ours else 's',
                    color='tab:red' if ours else 'tab:blue', capsize=3, markersize=5)
        label = _described(agg.first, 'title') + (' †' if agg.first['paper_pretrained'] else '')
        ax.annotate(label, (agg.cpu_ms, agg.miou), textcoords='offset points', xytext=(5, 4),
                    fontsize=7)
    ax.set_xlabel('CPU latency at 360x480, batch 1 (ms)')
    ax.set_ylabel('CamVid val mIoU (%)')
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(budget_dir: str, benchmarks_md: Optional[str] = None, readme: Optional[str] = None,
           ablation_md: Optional[str] = None, plot_path: Optional[str] = None,
           ablation: bool = False, curves_path: Optional[str] = None,
           archive_dir: Optional[str] = None) -> Dict[str, Aggregate]:
    """Write the tables of a budget's results into the marked sections and draw the plot.

    The benchmark (``ablation=False``) and the ablations usually run at different budgets, so
    one call writes one of them and leaves the other's sections alone.

    Args:
        budget_dir (str): ``RUNS_DIR/<budget tag>``.
        benchmarks_md (str | None): File with the ``camvid`` markers (full table).
        readme (str | None): File with the ``camvid-summary`` markers (short table).
        ablation_md (str | None): File with the ablation sections, one per budget
            (:func:`ablation_markers`); a budget's section is added if missing.
        plot_path (str | None): PNG of val mIoU against CPU latency.
        ablation (bool): Write the ablation table (Model C and its variants) instead of the
            benchmark tables and plot. Default: False.
        curves_path (str | None): PNG of the benchmark runs' training-loss curves.
        archive_dir (str | None): Archived results (see :func:`load_results`).

    Returns:
        dict: Model name -> :class:`Aggregate` of the models written.
    """
    results = load_results(budget_dir, archive_dir)
    if not results:
        raise FileNotFoundError(f'no result.json under {budget_dir}/*/: run the benchmark '
                                f'first (or pass the --epochs/--batch-size it ran with)')
    groups = aggregate(results)
    main = {n: g for n, g in groups.items() if in_benchmark_table(g.first)}
    ablations = ablation_groups(groups)
    stamp = max(r['written'] for r in results)
    notes = ('**Measured by us** (`python benchmarks/camvid.py report`, last result '
             f'{stamp}).')
    if any(g.first['paper_pretrained'] for g in main.values()) and not ablation:
        notes += ' † trained from scratch here; its paper starts from ImageNet weights.'
    budget = results[0]['budget']
    short_budget = (f'{budget["epochs"] or budget["seen_epochs"]:g} epochs of CamVid train '
                    f'({budget["iterations"]} iterations x batch {budget["batch_size"]}, '
                    f'360x480 crops), every model from scratch; mIoU on CamVid val')
    if ablation:
        if ablation_md:
            body = [_budget_line(results), '', ablation_table(ablations), '', notes]
            tag = osp.basename(osp.normpath(budget_dir))
            replace_marked(ablation_md, ablation_markers(tag), '\n'.join(body),
                           after=ABLATION_MARKER)
        return ablations
    if plot_path and main:
        plot(main, plot_path, f'CamVid val, {results[0]["budget"]["iterations"]} iterations x '
                              f'batch {results[0]["budget"]["batch_size"]}, from scratch')
    curves = []
    if curves_path and main:
        curves = plot_learning_curves([r for r in results if in_benchmark_table(r)],
                                      curves_path)
    if benchmarks_md and main:
        body = [_budget_line(results), '', benchmark_table(main), '', notes]
        here = osp.dirname(osp.abspath(benchmarks_md))
        if plot_path:
            body += ['', f'![CamVid val mIoU against CPU latency]'
                         f'({osp.relpath(plot_path, here)})']
        if curves:
            body += ['', f'![Training loss of each run against epochs]'
                         f'({osp.relpath(curves_path, here)})']
            missing = sorted(result_name(r) for r in results
                             if in_benchmark_table(r) and result_name(r) not in curves)
            if missing:
                body += ['', f'Not in the curves (no training log kept: the run folder is '
                             f'gone and its result predates the archived curve): '
                             f'{", ".join(missing)}.']
        replace_marked(benchmarks_md, MARKERS['benchmarks'], '\n'.join(body))
    if readme and main:
        body = [f'Budget: {short_budget}.', '', benchmark_table(main, with_classes=False), '',
                notes + ' Protocol and per-class IoU: '
                '[BENCHMARKS.md](BENCHMARKS.md#camvid-trained-from-scratch).']
        replace_marked(readme, MARKERS['readme'], '\n'.join(body))
    return main


# --------------------------------------------------------------------------- pictures


def draw_pictures(run: Run, data_root: str, out_path: str, num_frames: int = 3,
                  width: int = 240, threads=None, quiet=False) -> List[str]:
    """Frames of CamVid val, their ground truth and ``tools/infer.py``'s overlays, side by side.

    ``tools/infer.py`` segments ``num_frames`` evenly spaced val frames with the run's final
    checkpoint; each row of the picture is frame | ground truth (void black) | overlay,
    every panel downscaled to ``width`` pixels, saved as a 256-colour PNG to stay small.

    Returns:
        list[str]: The val frames used.
    """
    import numpy as np
    from PIL import Image

    from lrseg_mm.datasets import CamVidDataset
    if not osp.isfile(run.final_checkpoint):
        raise FileNotFoundError(f'{run.name} has no final checkpoint {run.final_checkpoint}')
    names = sorted(f for f in os.listdir(osp.join(data_root, 'val')) if f.endswith('.png'))
    step = max(1, len(names) // num_frames)
    chosen = names[step // 2::step][:num_frames]
    frames = [osp.join(data_root, 'val', n) for n in chosen]
    infer_dir = osp.join(run.work_dir, 'pictures')
    args = [sys.executable, osp.join(REPO, 'tools', 'infer.py'),
            osp.join(REPO, run.model.config), run.final_checkpoint, *frames, '--out-dir',
            infer_dir, '--no-progress', '--device', 'cpu']
    if run.model.options:
        args += ['--cfg-options', *run.model.options]
    _run_tool(args, osp.join(run.work_dir, 'benchmark_pictures.log'), threads, quiet)
    palette = np.array(CamVidDataset.METAINFO['palette'] + [[0, 0, 0]] * 245, np.uint8)
    rows = []
    for name, frame in zip(chosen, frames):
        stem = osp.splitext(name)[0]
        label = np.array(Image.open(osp.join(data_root, 'valannot', name)))
        panels = [Image.open(frame).convert('RGB'), Image.fromarray(palette[label]),
                  Image.open(osp.join(infer_dir, 'overlays', stem + '.png')).convert('RGB')]
        height = round(panels[0].height * width / panels[0].width)
        rows.append(np.concatenate(
            [np.asarray(p.resize((width, height), Image.BILINEAR)) for p in panels], axis=1))
    picture = Image.fromarray(np.concatenate(rows, axis=0))
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    picture.quantize(colors=256, method=Image.MEDIANCUT).save(out_path, optimize=True)
    return frames


# --------------------------------------------------------------------------- confusion


def confusion_on_val(config: str, options: Sequence[str], checkpoint: str, data_root: str,
                     threads: int = 1) -> dict:
    """Where a checkpoint's val pixels go, and how peaked LRNNet's SVN attention is.

    Every CamVid val frame is segmented in this process (the config's test pipeline, the
    toolbox's ``inference_model``); pixels are counted by (true class, predicted class), void
    excluded. For a model with an SVN head, the attention of every pixel over the S keys is
    summarised too: its mean entropy against log(S) (the entropy of uniform attention) and
    its mean largest weight against 1/S.

    Returns:
        dict: ``{'confusion': 11x11 counts (rows truth, columns prediction), 'attention':
        {'entropy', 'max_entropy', 'max_weight', 'uniform_weight'} or None}``.
    """
    import numpy as np
    import torch
    from mmseg.apis import inference_model, init_model
    from PIL import Image

    from lrseg_mm.engine import safe_checkpoint_loading
    torch.set_num_threads(threads)
    cfg = load_config(config, options)
    with safe_checkpoint_loading():  # a training checkpoint also holds the message hub
        model = init_model(cfg, checkpoint, device='cpu')
    num_classes = len(CLASSES)
    counts = np.zeros((num_classes, num_classes), np.int64)
    attention_stats = []
    svn = getattr(model.decode_head, 'svn', None)
    if svn is not None:
        def record(module, inputs, reduced):
            _, attention = svn.attention(reduced)
            entropy = -(attention * attention.clamp_min(1e-12).log()).sum(dim=1)
            attention_stats.append((entropy.mean().item(), attention.amax(dim=1).mean().item(),
                                    attention.shape[1]))
        svn.reduce.register_forward_hook(record)
    names = sorted(f for f in os.listdir(osp.join(data_root, 'val')) if f.endswith('.png'))
    with torch.no_grad():
        for name in names:
            truth = np.array(Image.open(osp.join(data_root, 'valannot', name)))
            pred = inference_model(model, osp.join(data_root, 'val', name))
            pred = pred.pred_sem_seg.data[0].numpy()
            if pred.shape != truth.shape:
                raise RuntimeError(f'{name}: prediction {pred.shape} != label {truth.shape}')
            keep = truth < num_classes
            counts += np.bincount(truth[keep].astype(np.int64) * num_classes + pred[keep],
                                  minlength=num_classes**2).reshape(num_classes, num_classes)
    attention = None
    if attention_stats:
        s = attention_stats[0][2]
        attention = dict(entropy=round(statistics.mean(a for a, _, _ in attention_stats), 4),
                         max_entropy=round(math.log(s), 4),
                         max_weight=round(statistics.mean(m for _, m, _ in attention_stats), 4),
                         uniform_weight=round(1 / s, 4))
    return dict(confusion=counts.tolist(), attention=attention)


def confusion_table(confusion: Sequence[Sequence[int]]) -> str:
    """Markdown table of a confusion matrix, each row as % of that class's pixels."""
    lines = ['| true class | ' + ' | '.join(SHORT_CLASS_NAMES) + ' |',
             '|---|' + '---:|' * len(SHORT_CLASS_NAMES)]
    for name, row in zip(SHORT_CLASS_NAMES, confusion):
        total = sum(row)
        cells = ['-' if not total else
                 (f'**{100 * v / total:.1f}**' if i == SHORT_CLASS_NAMES.index(name)
                  else f'{100 * v / total:.1f}') for i, v in enumerate(row)]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


# --------------------------------------------------------------------------- command line


def resolve_models(names: Sequence[str]) -> List[Model]:
    """Models named on the command line; ``all`` = the benchmark list, ``ablations`` = the
    variants of Model C."""
    models = []
    for name in names:
        if name == 'all':
            models += [MODELS[n] for n in BENCHMARK_NAMES]
        elif name == 'ablations':
            models += [m for m in MODELS.values() if m.variant_of]
        elif name in MODELS:
            models.append(MODELS[name])
        else:
            raise SystemExit(f'error: unknown model {name!r}; choose from all, ablations, '
                             f'{", ".join(MODELS)}')
    return list(dict.fromkeys(models))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='CamVid benchmark: train from scratch, evaluate on val, time on CPU',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('command', choices=['run', 'train', 'evaluate', 'latency', 'report',
                                            'pictures', 'confusion', 'list', 'class-weights'],
                        help='run = train + evaluate + latency (round-robin) + report; '
                        'pictures = tools/infer.py on val frames of the first model and seed; '
                        'confusion = where each class\'s val pixels go (kept in the result); '
                        'class-weights = ENet class weights of the train split')
    parser.add_argument('--models', nargs='+', default=['all'],
                        help='model names (see `list`), `all` or `ablations`; when ablation '
                        'variants are among them, `report` writes the ablation table only')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0])
    parser.add_argument('--epochs', type=float, default=30,
                        help='training budget in epochs of CamVid train')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--max-iters', type=int, default=None,
                        help='iterations instead of --epochs (smoke runs, tests)')
    parser.add_argument('--data-root', default=DEFAULT_DATA_ROOT,
                        help='CamVid in the SegNet layout')
    parser.add_argument('--runs-dir', default=DEFAULT_RUNS_DIR,
                        help='where runs go (outside the checkout)')
    parser.add_argument('--archive-dir', default=DEFAULT_ARCHIVE_DIR,
                        help='where finished runs\' results are kept (in the repository); '
                        'an archived run counts as done')
    parser.add_argument('--workers', type=int, default=None,
                        help='dataloader workers (default: the config\'s)')
    parser.add_argument('--train-threads', type=int, default=None,
                        help='OMP_NUM_THREADS of the training and test processes')
    parser.add_argument('--latency-rounds', type=int, default=20)
    parser.add_argument('--latency-threads', type=int, default=1)
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='extra key=value options for every training and test run')
    parser.add_argument('--quiet', action='store_true', help='do not stream the tools\' output')
    parser.add_argument('--benchmarks-md', default=osp.join(REPO, 'BENCHMARKS.md'))
    parser.add_argument('--readme', default=osp.join(REPO, 'README.md'))
    parser.add_argument('--ablation-md', default=osp.join(REPO, 'configs', 'lrnnet',
                                                          'README.md'))
    parser.add_argument('--plot', default=osp.join(REPO, 'benchmarks',
                                                   'camvid_miou_vs_latency.png'))
    parser.add_argument('--curves', default=osp.join(REPO, 'benchmarks',
                                                     'camvid_learning_curves.png'),
                        help='report: PNG of the training-loss curves')
    parser.add_argument('--frames', type=int, default=3, help='pictures: val frames')
    parser.add_argument('--picture', default=osp.join(REPO, 'docs', 'camvid_lrnnet_val.png'),
                        help='pictures: output PNG')
    parser.add_argument('--checkpoint', default=None,
                        help='confusion: this checkpoint instead of the run\'s final one '
                        '(e.g. the shipped one, when the run folder is gone)')
    parser.add_argument('--no-write', action='store_true',
                        help='report: print the tables, write no file')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.command == 'list':
        for model in MODELS.values():
            kind = f'ablation of {model.variant_of}: {model.change}' if model.variant_of else \
                ('ours' if model.ours else 'toolbox')
            print(f'{model.name:20s} {model.config}  ({kind})')
            if model.options:
                # quoted for a shell: `(0.,0.,0.)` would be a syntax error there
                print(f'{"":20s} --cfg-options {" ".join(map(shlex.quote, model.options))}')
        return 0
    runs_dir = osp.abspath(osp.expanduser(args.runs_dir))
    data_root = osp.abspath(args.data_root)
    if args.command == 'class-weights':
        counts, weights = enet_class_weights(data_root)
        for name, count, weight in zip(CLASSES, counts, weights):
            print(f'{name:12s} {count:12d} pixels  weight {weight:.3f}')
        print(f'class_weight=[{",".join(map(str, weights))}]')
        return 0
    if args.command == 'report' and args.max_iters is None:
        # the report needs no data: the budget folder is named by epochs and batch
        budget = Budget(args.epochs, args.batch_size, 0, 0)
    else:
        try:
            counts = check_camvid_root(data_root)
            budget = Budget.make(counts['train'], args.batch_size, args.epochs, args.max_iters)
        except (FileNotFoundError, ValueError) as error:
            print(f'error: {error}', file=sys.stderr)
            return 2
    models = resolve_models(args.models)
    runs = [Run(m, s, budget, runs_dir) for m in models for s in args.seeds]
    common = dict(extra_options=args.cfg_options, workers=args.workers,
                  threads=args.train_threads, quiet=args.quiet)
    budget_dir = osp.join(runs_dir, budget.tag)
    archive_dir = osp.abspath(args.archive_dir)
    archived = {result_name(r) for r in load_results(budget_dir, archive_dir)}
    if args.command in ('run', 'train', 'evaluate'):
        print(f'{len(runs)} run(s) in {osp.join(runs_dir, budget.tag)}: {budget.max_iters} '
              f'iterations x batch {budget.batch_size} = {budget.seen_epochs:.2f} epochs of '
              f'{budget.train_images} training frames')
        failed = []
        for i, run in enumerate(runs, 1):
            step = f'[{i}/{len(runs)}] {run.name}'
            if osp.isfile(run.result_path) or run.name in archived:
                where = run.result_path if osp.isfile(run.result_path) else \
                    f'archived in {osp.join(archive_dir, budget.tag)}'
                print(f'{step}: done ({where})')
                continue
            try:
                if args.command in ('run', 'train'):
                    state = 'continuing' if osp.isfile(
                        osp.join(run.work_dir, 'last_checkpoint')) else 'starting'
                    print(f'{step}: {state} training, checkpoint every '
                          f'{checkpoint_interval(run.model, budget)} iterations -> '
                          f'{run.work_dir}')
                    train(run, data_root, **common)
                if args.command in ('run', 'evaluate'):
                    if not osp.isfile(run.final_checkpoint):
                        print(f'{step}: not trained yet, skipped')
                        continue
                    print(f'{step}: evaluating on val')
                    result = evaluate(run, data_root, latency_rounds=args.latency_rounds,
                                      latency_threads=args.latency_threads,
                                      archive_dir=archive_dir, **common)
                    print(f'{step}: val mIoU {result["val"]["mIoU"]:.2f}, '
                          f'{result["latency"]["cpu_ms"]:.0f} CPU ms -> {run.result_path}')
            except RuntimeError as error:
                # an unattended multi-hour run goes on with the other models
                print(f'{step}: FAILED: {error}', file=sys.stderr)
                failed.append(run.name)
        if failed:
            print(f'error: {len(failed)} run(s) failed: {", ".join(failed)}; fix and repeat '
                  f'the command (finished runs are skipped)', file=sys.stderr)
            return 1
    if args.command == 'confusion':
        known = {result_name(r): r for r in load_results(budget_dir, archive_dir)}
        for run in runs:
            checkpoint = args.checkpoint or run.final_checkpoint
            if not osp.isfile(checkpoint):
                if args.checkpoint:
                    print(f'error: no checkpoint {checkpoint}', file=sys.stderr)
                    return 2
                print(f'{run.name}: not trained yet, skipped')
                continue
            found = confusion_on_val(run.model.config, run.model.options, checkpoint,
                                     data_root, threads=args.train_threads or 1)
            print(f'{run.name} ({checkpoint}): % of each true class\'s val pixels')
            print(confusion_table(found['confusion']))
            if found['attention']:
                print('SVN attention: mean entropy {entropy} of log(S) = {max_entropy}; mean '
                      'largest weight {max_weight} vs 1/S = {uniform_weight}'.format(
                          **found['attention']))
            if run.name in known:
                known[run.name].update(found, confusion_checkpoint=checkpoint)
                save_result(known[run.name], archive_dir)
                print(f'kept in the result of {run.name}')
    if args.command == 'pictures':
        frames = draw_pictures(runs[0], data_root, args.picture, args.frames,
                               threads=args.train_threads, quiet=args.quiet)
        print(f'{args.picture}: {len(frames)} val frame(s) of {runs[0].name}')
    if args.command in ('run', 'latency'):
        results = load_results(budget_dir, archive_dir)
        if results:
            print(f'timing {len({r["model"] for r in results})} model(s) round-robin')
            remeasure_latency(results, args.latency_rounds, args.latency_threads, archive_dir)
    if args.command in ('run', 'report'):
        if args.no_write:
            groups = aggregate(load_results(budget_dir, archive_dir))
            print(benchmark_table({n: g for n, g in groups.items()
                                   if in_benchmark_table(g.first)}))
            print(ablation_table(groups))
        elif any(m.variant_of for m in models):
            report(budget_dir, ablation_md=args.ablation_md, ablation=True,
                   archive_dir=archive_dir)
            print(f'wrote the ablation table into {args.ablation_md}')
        else:
            report(budget_dir, args.benchmarks_md, args.readme, plot_path=args.plot,
                   curves_path=args.curves, archive_dir=archive_dir)
            print(f'wrote the CamVid sections of {args.benchmarks_md} and {args.readme}, '
                  f'{args.plot} and {args.curves}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
