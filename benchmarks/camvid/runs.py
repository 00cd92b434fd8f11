"""Running the CamVid benchmark: data, budget, the training and test runs of the repository's
tools (``<runs dir>/<budget tag>/<model>-seed<seed>/``), timing, and the results with their
archive in the repository (``benchmarks/results/camvid/<budget tag>/``), where an archived
run counts as done."""
import argparse
import collections
import glob
import json
import math
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.config import DictAction

from lrseg_mm.apis import list_images, load_segmentor
from lrseg_mm.utils import (InferenceRunner, count_macs, count_parameters, cpu_model_name,
                            round_robin)
from .models import INPUT_SHAPE, Model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_DATA_ROOT = osp.normpath(osp.join(REPO, '..', 'shared', 'data', 'camvid'))
DEFAULT_RUNS_DIR = osp.join('~', 'runs', 'camvid')
DEFAULT_ARCHIVE_DIR = osp.join(REPO, 'benchmarks', 'results', 'camvid')
# Training time between checkpoints; a cut-off run loses at most this much.
CHECKPOINT_EVERY_S = 15 * 60
# The test runs' metric and SVN diagnostics (tools/test.py --cfg-options).
TEST_OPTIONS = ('test_evaluator.type=ClassIoUMetric',
                'default_hooks.svn_diagnostics.type=SVNDiagnosticsHook')
IDENTITY_OPTIONS = ('model.decode_head.bypass_svn=True', )


def frame_names(folder: str) -> List[str]:
    """Names of the images of ``folder``, sorted; ValueError if it holds none."""
    return [osp.basename(path) for path in list_images(folder)]


def check_camvid_root(data_root: str) -> Dict[str, int]:
    """Images per split (e.g. ``{'train': 367, 'val': 101}``) of CamVid in the SegNet layout
    in ``data_root``: FileNotFoundError if the folder, a split folder or an image's label is
    missing, ValueError if a split holds no images."""
    layout = ('{train,val}/*.png images and {train,val}annot/*.png labels of the same names '
              '(ids 0..10, 11 = void), as in the SegNet tutorial')
    if not osp.isdir(data_root):
        raise FileNotFoundError(f'CamVid data root {data_root} does not exist (expected '
                                f'{layout}); pass --data-root')
    counts = {}
    for split in ('train', 'val'):
        image_dir, label_dir = osp.join(data_root, split), osp.join(data_root, split + 'annot')
        missing = [d for d in (image_dir, label_dir) if not osp.isdir(d)]
        if missing:
            raise FileNotFoundError(f'{data_root} does not have the CamVid layout: no '
                                    f'{", ".join(missing)} (expected {layout})')
        names = frame_names(image_dir)
        unlabelled = [n for n in names if not osp.isfile(osp.join(label_dir, n))]
        if unlabelled:
            raise FileNotFoundError(f'{len(unlabelled)} image(s) of {image_dir} have no label '
                                    f'in {label_dir}, e.g. {unlabelled[0]} (expected {layout})')
        counts[split] = len(names)
    return counts


@dataclass(frozen=True)
class Budget:
    """The training budget shared by every run of one benchmark: ``epochs`` over the
    ``train_images`` (None for a forced ``max_iters``) at ``batch_size`` images per
    iteration = ``max_iters`` iterations, ceil(epochs x train_images / batch_size)."""
    epochs: Optional[float]
    batch_size: int
    train_images: int
    max_iters: int

    @classmethod
    def make(cls, train_images: int, batch_size: int, epochs: Optional[float] = None,
             max_iters: Optional[int] = None) -> 'Budget':
        """The budget of ``epochs`` (or a forced ``max_iters``) at ``batch_size``;
        ValueError for a batch size, epoch or iteration count below 1 (0 epochs)."""
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
        return f'e{self.epochs:g}-b{self.batch_size}' if self.epochs is not None else \
            f'i{self.max_iters}-b{self.batch_size}'

    def as_dict(self) -> dict:
        """The budget as a result keeps it."""
        return dict(epochs=self.epochs, seen_epochs=round(self.seen_epochs, 3),
                    batch_size=self.batch_size, train_images=self.train_images,
                    iterations=self.max_iters, crop=list(INPUT_SHAPE))


def checkpoint_interval(model: Model, budget: Budget) -> int:
    """Iterations between checkpoints: about :data:`CHECKPOINT_EVERY_S` of training."""
    seconds = model.seconds_per_iter * budget.batch_size / 4
    interval = max(10, int(round(CHECKPOINT_EVERY_S / seconds / 10.0)) * 10)
    return min(interval, budget.max_iters)


@dataclass
class ToolOptions:
    """How the repository's tools run: on CamVid in ``data_root``, with ``extra_options``
    added to every training and test run's ``--cfg-options``, ``workers`` dataloader workers
    and ``threads`` as ``OMP_NUM_THREADS`` (None: the config's, inherited), streaming their
    output unless ``quiet`` (it is kept in the run's logs either way)."""
    data_root: str = DEFAULT_DATA_ROOT
    extra_options: Sequence[str] = ()
    workers: Optional[int] = None
    threads: Optional[int] = None
    quiet: bool = False

    @property
    def data_options(self) -> List[str]:
        """``--cfg-options`` of the data root and the dataloaders' workers."""
        options = []
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            options.append(f'{loader}.dataset.data_root={self.data_root}')
            if self.workers is not None:
                options += [f'{loader}.num_workers={self.workers}',
                            f'{loader}.persistent_workers={self.workers > 0}']
        return options


@dataclass
class Run:
    """One training run: a ``model``, a ``seed`` and a ``budget``, in its own work dir
    ``<runs_dir>/<budget tag>/<name>``."""
    model: Model
    seed: int
    budget: Budget
    runs_dir: str

    def __post_init__(self):
        self.name = f'{self.model.name}-seed{self.seed}'
        self.work_dir = osp.join(self.runs_dir, self.budget.tag, self.name)
        self.final_checkpoint = osp.join(self.work_dir, f'iter_{self.budget.max_iters}.pth')
        self.result_path = osp.join(self.work_dir, 'result.json')

    def tool(self, name: str, tools: ToolOptions, *args: str, log: Optional[str] = None):
        """Run ``tools/<name>.py`` on the run's config with ``args`` as ``tools`` say,
        streaming its output (unless quiet) into ``benchmark_<log or name>.log`` in the work
        dir; a RuntimeError with its last lines if it fails."""
        args = [sys.executable, osp.join(REPO, 'tools', f'{name}.py'),
                osp.join(REPO, self.model.config), *args]
        log_path = osp.join(self.work_dir, f'benchmark_{log or name}.log')
        os.makedirs(self.work_dir, exist_ok=True)
        env = dict(os.environ, OMP_WAIT_POLICY='PASSIVE', PYTHONUNBUFFERED='1')
        if tools.threads:
            env['OMP_NUM_THREADS'] = str(tools.threads)
        with open(log_path, 'a') as f:
            f.write(f'\n$ {" ".join(args)}\n')
            f.flush()
            process = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT, text=True)
            tail = collections.deque(maxlen=40)
            for line in process.stdout:
                f.write(line)
                f.flush()  # the file can be followed (tail -f) while the tool runs
                tail.append(line)
                if not tools.quiet:
                    sys.stdout.write(line)
                    sys.stdout.flush()
            code = process.wait()
        if code != 0:
            raise RuntimeError(f'{args[1]} failed with exit status {code}; its output is in '
                               f'{log_path}. Last lines:\n{"".join(tail)}')


def train(run: Run, tools: ToolOptions) -> None:
    """Train a run to its final checkpoint through ``tools/train.py --resume`` as ``tools``
    say (an interrupted run continues from its last checkpoint; a finished one is left
    alone)."""
    if osp.isfile(run.final_checkpoint):
        return
    n = run.budget.max_iters
    run.tool('train', tools, '--work-dir', run.work_dir, '--resume', '--cfg-options',
             *tools.data_options, f'train_dataloader.batch_size={run.budget.batch_size}',
             f'train_cfg.max_iters={n}', f'train_cfg.val_interval={n}',
             f'param_scheduler.0.end={n}',
             f'default_hooks.checkpoint.interval={checkpoint_interval(run.model, run.budget)}',
             'default_hooks.checkpoint.max_keep_ckpts=2', f'randomness.seed={run.seed}',
             # evaluation on val is done once, on the final checkpoint, by tools/test.py
             'val_cfg=None', 'val_dataloader=None', 'val_evaluator=None',
             *run.model.options, *tools.extra_options)
    if not osp.isfile(run.final_checkpoint):
        raise RuntimeError(f'training of {run.name} ended without {run.final_checkpoint}')


def _test_metrics(run: Run, checkpoint: str, tools: ToolOptions, options: Sequence[str] = (),
                  folder: str = 'eval') -> dict:
    """The metrics that one ``tools/test.py`` run of a checkpoint on CamVid val dumps."""
    eval_dir = osp.join(run.work_dir, folder)
    run.tool('test', tools, checkpoint, '--work-dir', eval_dir, '--cfg-options',
             *tools.data_options, *TEST_OPTIONS, *run.model.options, *tools.extra_options,
             *options, log=folder)
    logs = [d for d in glob.glob(osp.join(eval_dir, '*'))
            if osp.isfile(osp.join(d, osp.basename(d) + '.json'))]
    if not logs:
        raise RuntimeError(f'tools/test.py left no metrics in {eval_dir}')
    newest = max(logs, key=osp.getmtime)
    with open(osp.join(newest, osp.basename(newest) + '.json')) as f:
        metrics = json.loads(f.read().strip().splitlines()[-1])
    # the Runner logs float32 values (56.5099983...); IoUMetric rounds to 2 decimals
    metrics.update({k: round(float(metrics[k]), 2) for k in ('mIoU', 'aAcc', 'mAcc')
                    if k in metrics})
    return metrics


def evaluate_checkpoint(run: Run, checkpoint: str,
                        tools: ToolOptions) -> Tuple[dict, list, Optional[dict]]:
    """``(val, confusion, svn)`` of a ``checkpoint`` of a ``run`` by ``tools/test.py`` run as
    ``tools`` say: val mIoU, aAcc, mAcc (2 decimals), IoU and Acc per class; the confusion
    matrix; None without an SVN block, else :class:`lrseg_mm.evaluation.SVNDiagnosticsHook`'s
    figures and ``identity_mIoU``, the val mIoU with the block as the identity: what its
    output is worth to the trained model."""
    metrics = _test_metrics(run, checkpoint, tools)
    val = {k: metrics.get(k) for k in ('mIoU', 'aAcc', 'mAcc', 'IoU', 'Acc')}
    svn = metrics.get('svn')
    if svn:
        identity = _test_metrics(run, checkpoint, tools, IDENTITY_OPTIONS, 'eval-identity')
        svn['identity_mIoU'] = identity['mIoU']
    return val, metrics['confusion'], svn


def _training_records(work_dir: str) -> List[dict]:
    """The training records of a run's logs, all sittings in the order they ran."""
    records = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records += [r for r in map(json.loads, f) if 'time' in r and 'loss' in r]
    return records


def learning_curve(work_dir: str) -> Optional[dict]:
    """The logged training loss in ``work_dir`` over all sittings as a result keeps it,
    ``{'key', 'steps', 'values'}`` (None without a log): the main head's loss, comparable
    across models, else 'loss'; an iteration logged twice (on resuming) keeps the later."""
    records = {int(r['step']): r for r in _training_records(work_dir) if 'step' in r}
    if not records:
        return None
    key = next(k for k in ('decode.loss_ce', 'loss') if all(k in r for r in records.values()))
    steps = sorted(records)
    return dict(key=key, steps=steps, values=[round(float(records[i][key]), 4) for i in steps])


def load_model(model: Model):
    """A benchmark model with random weights (timing, counting), auxiliary heads kept."""
    parser = argparse.ArgumentParser()  # the options as --cfg-options reads them
    parser.add_argument('--o', nargs='+', action=DictAction, default={})
    options = parser.parse_args(['--o', *model.options] if model.options else []).o
    return load_segmentor(osp.join(REPO, model.config), cfg_options=options)


def result_name(result: dict) -> str:
    """``<model>-seed<seed>`` of a result."""
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


def evaluate(run: Run, tools: ToolOptions, latency_rounds: int = 20,
             latency_threads: int = 1, archive_dir: Optional[str] = None) -> dict:
    """Val metrics (:func:`evaluate_checkpoint`), size and latency (:func:`measure_latency`)
    of a trained ``run``, written to its ``result.json`` and to ``archive_dir``."""
    val, confusion, svn = evaluate_checkpoint(run, run.final_checkpoint, tools)
    model = load_model(run.model)
    times = [r['time'] for r in _training_records(run.work_dir)]
    m = run.model
    result = dict(
        model=m.name, title=m.title, config=m.config, seed=run.seed, variant_of=m.variant_of,
        change=m.change, cfg_options=list(m.options), ours=m.ours, from_scratch=True,
        paper_pretrained=m.paper_pretrained, budget=run.budget.as_dict(),
        checkpoint=run.final_checkpoint, val=val,
        params=count_parameters(model, exclude=('auxiliary_head', )),
        macs=count_macs(model, torch.zeros(1, 3, *INPUT_SHAPE)).macs,
        input_shape=list(INPUT_SHAPE), latency=None,
        train_seconds_per_iter=round(statistics.median(times), 4) if times else None,
        tag=run.budget.tag, written=time.strftime('%Y-%m-%d %H:%M:%S'),
        curve=learning_curve(run.work_dir), confusion=confusion, svn=svn)
    measure_latency([result], latency_rounds, latency_threads, archive_dir)
    return result


def measure_latency(results: List[dict], rounds: int = 20, threads: int = 1,
                    archive_dir: Optional[str] = None) -> None:
    """Time the models of ``results`` round-robin in one go and save the results with their
    ``latency`` (:func:`save_result` to ``archive_dir``): batch 1 at 360x480, the network and
    the resize of the logits (``encode_decode``, random weights), medians over ``rounds``
    (after 3 warm-up rounds) of process CPU and wall time, ``threads`` torch threads."""
    models = {}
    for r in results:  # built as archived, also for a model no longer defined
        if r['model'] not in models:
            models[r['model']] = load_model(Model(r['model'], r['title'], r['config'],
                                                  options=tuple(r['cfg_options'])))
    torch.set_num_threads(threads)
    times = round_robin({n: InferenceRunner(m, INPUT_SHAPE) for n, m in models.items()},
                        rounds, warmup=3)
    for result in results:
        name = result['model']
        result['latency'] = dict(cpu_ms=round(times.median_ms(name, 'cpu'), 2),
                                 wall_ms=round(times.median_ms(name, 'wall'), 2),
                                 threads=threads, rounds=rounds, cpu=cpu_model_name())
        save_result(result, archive_dir)


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
        results[result_name(result)] = result
    return [results[name] for name in sorted(results)]
