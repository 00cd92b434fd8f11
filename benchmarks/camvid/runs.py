"""Running the CamVid benchmark: data, budget, training and evaluation runs, results.

Each run goes through the toolbox Runner: ``tools/train.py --resume`` (so a run that is cut
off continues from its last checkpoint) into ``<runs dir>/<budget tag>/<model>-seed<seed>/``,
then ``tools/test.py`` on its final checkpoint with :class:`lrseg_mm.evaluation.ClassIoUMetric`
and :class:`lrseg_mm.evaluation.SVNDiagnosticsHook`, whose metrics the Runner dumps as JSON.
A run's ``result.json`` is also kept in the repository (``benchmarks/results/camvid/<budget
tag>/<model>-seed<seed>.json``), since run folders do not outlast their machine; an archived
run counts as done.
"""
import argparse
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

from .models import INPUT_SHAPE, Model

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DEFAULT_DATA_ROOT = osp.normpath(osp.join(REPO, '..', 'shared', 'data', 'camvid'))
DEFAULT_RUNS_DIR = osp.join('~', 'runs', 'camvid')
DEFAULT_ARCHIVE_DIR = osp.join(REPO, 'benchmarks', 'results', 'camvid')
SPLITS = (('train', 'trainannot'), ('val', 'valannot'))
# Training time between checkpoints; a cut-off run loses at most this much.
CHECKPOINT_EVERY_S = 15 * 60
# The test runs' metric and SVN diagnostics (tools/test.py --cfg-options).
TEST_OPTIONS = ('test_evaluator.type=ClassIoUMetric',
                'default_hooks.svn_diagnostics.type=SVNDiagnosticsHook')
IDENTITY_OPTIONS = ('model.decode_head.bypass_svn=True', )


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
        try:
            names = frame_names(image_dir)
        except ValueError:
            raise FileNotFoundError(f'{image_dir} holds no images (expected {layout})') from None
        unlabelled = [n for n in names if not osp.isfile(osp.join(label_dir, n))]
        if unlabelled:
            raise FileNotFoundError(f'{len(unlabelled)} image(s) of {image_dir} have no label '
                                    f'in {label_dir}, e.g. {unlabelled[0]} (expected {layout})')
        counts[images] = len(names)
    return counts


def frame_names(folder: str) -> List[str]:
    """Names of the images of a folder, sorted (``lrseg_mm.apis.list_images``).

    Raises:
        ValueError: If the folder holds no images.
    """
    from lrseg_mm.apis import list_images
    return [osp.basename(path) for path in list_images(folder)]


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
        """The budget of ``epochs`` (or a forced ``max_iters``) at ``batch_size``.

        Raises:
            ValueError: For a batch size, epoch count or iteration count below 1 (0 epochs).
        """
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


def parse_cfg_options(options: Sequence[str]) -> dict:
    """``key=value`` strings as ``--cfg-options`` (mmengine's ``DictAction``) reads them."""
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--o', nargs='+', action=DictAction, default={})
    return parser.parse_args(['--o', *options] if options else []).o


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
        options = []
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            options.append(f'{loader}.dataset.data_root={data_root}')
            if workers is not None:
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


@dataclass
class ToolOptions:
    """How the repository's tools are run.

    Attributes:
        extra_options (list[str]): ``--cfg-options`` added to every training and test run.
        workers (int | None): Dataloader workers (None: the config's).
        threads (int | None): ``OMP_NUM_THREADS`` of the tools (None: inherited).
        quiet (bool): Do not stream the tools' output (it is kept in the run's logs).
    """
    extra_options: Sequence[str] = ()
    workers: Optional[int] = None
    threads: Optional[int] = None
    quiet: bool = False


def run_tool(args: List[str], log_path: str, tools: ToolOptions) -> None:
    """Run a repository tool; stream its output (unless quiet) and keep it in ``log_path``.

    Raises:
        RuntimeError: If the tool fails, with the last lines of its output.
    """
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    env = dict(os.environ, OMP_WAIT_POLICY='PASSIVE', PYTHONUNBUFFERED='1')
    if tools.threads:
        env['OMP_NUM_THREADS'] = str(tools.threads)
    with open(log_path, 'a') as log:
        log.write(f'\n$ {" ".join(args)}\n')
        log.flush()
        process = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
        tail = []
        for line in process.stdout:
            log.write(line)
            log.flush()  # the file can be followed (tail -f) while the tool runs
            tail = (tail + [line])[-40:]
            if not tools.quiet:
                sys.stdout.write(line)
                sys.stdout.flush()
        code = process.wait()
    if code != 0:
        raise RuntimeError(f'{args[1]} failed with exit status {code}; its output is in '
                           f'{log_path}. Last lines:\n{"".join(tail)}')


def train(run: Run, data_root: str, tools: ToolOptions) -> None:
    """Train a run to its final checkpoint through ``tools/train.py --resume``.

    A run whose final checkpoint exists is left alone; an interrupted one continues from its
    last checkpoint.
    """
    if osp.isfile(run.final_checkpoint):
        return
    args = [sys.executable, osp.join(REPO, 'tools', 'train.py'), osp.join(REPO, run.model.config),
            '--work-dir', run.work_dir, '--resume', '--cfg-options',
            *run.train_options(data_root, tools.workers), *tools.extra_options]
    run_tool(args, osp.join(run.work_dir, 'benchmark_train.log'), tools)
    if not osp.isfile(run.final_checkpoint):
        raise RuntimeError(f'training of {run.name} ended without {run.final_checkpoint}')


def test_metrics(run: Run, checkpoint: str, data_root: str, tools: ToolOptions,
                 options: Sequence[str] = (), folder: str = 'eval') -> dict:
    """The test metrics of a checkpoint on CamVid val: one ``tools/test.py`` run.

    Returns:
        dict: ``mIoU``, ``aAcc``, ``mAcc`` (rounded to 2 places as ``IoUMetric`` prints
        them), ``IoU`` and ``Acc`` per class, ``confusion``, and ``svn`` for a model that
        runs an SVN block (see :class:`lrseg_mm.evaluation.SVNDiagnosticsHook`).
    """
    eval_dir = osp.join(run.work_dir, folder)
    args = [sys.executable, osp.join(REPO, 'tools', 'test.py'), osp.join(REPO, run.model.config),
            checkpoint, '--work-dir', eval_dir, '--cfg-options',
            *run.data_options(data_root, tools.workers), *TEST_OPTIONS, *run.model.options,
            *tools.extra_options, *options]
    run_tool(args, osp.join(run.work_dir, f'benchmark_{folder}.log'), tools)
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


def evaluate_checkpoint(run: Run, checkpoint: str, data_root: str,
                        tools: ToolOptions) -> Tuple[dict, list, Optional[dict]]:
    """Val metrics, confusion and SVN diagnostics of a checkpoint.

    For a model with an SVN block, a second test run with the block replaced by the
    identity (``bypass_svn=True``) gives ``svn['identity_mIoU']``: what the block's output
    is worth to the trained model.

    Returns:
        tuple: ``(val, confusion, svn)``; ``val`` holds mIoU, aAcc, mAcc, IoU and Acc, and
        ``svn`` is None for a model without an SVN block.
    """
    metrics = test_metrics(run, checkpoint, data_root, tools)
    val = {k: metrics.get(k) for k in ('mIoU', 'aAcc', 'mAcc', 'IoU', 'Acc')}
    svn = metrics.get('svn')
    if svn:
        identity = test_metrics(run, checkpoint, data_root, tools, IDENTITY_OPTIONS,
                                folder='eval-identity')
        svn['identity_mIoU'] = identity['mIoU']
    return val, metrics['confusion'], svn


def learning_curve(work_dir: str) -> Optional[Tuple[List[int], List[float], str]]:
    """Logged training loss of a run over all its sittings: (iterations, losses, key).

    The key is the main head's loss, comparable across models (auxiliary heads add their
    own terms to 'loss'), or 'loss' where a model logs no main-head term. Sittings are read
    in the order of their time-stamped folders; an iteration logged by two sittings (a
    resume repeats the last interval) keeps the later value. None without a log.
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
    key = next(k for k in ('decode.loss_ce', 'loss') if all(k in r for r in records.values()))
    steps = sorted(records)
    return steps, [float(records[i][key]) for i in steps], key


def curve_record(work_dir: str) -> Optional[dict]:
    """A run's :func:`learning_curve` as kept in its result."""
    curve = learning_curve(work_dir)
    return None if curve is None else dict(key=curve[2], steps=curve[0],
                                           values=[round(v, 4) for v in curve[1]])


def training_seconds_per_iter(work_dir: str) -> Optional[float]:
    """Median logged training time per iteration over all sittings of a run."""
    times = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            times += [r['time'] for r in map(json.loads, f) if 'time' in r and 'loss' in r]
    return round(statistics.median(times), 4) if times else None


def load_model(model: Model):
    """A benchmark model with random weights (timing, counting), auxiliary heads kept."""
    from lrseg_mm.apis import load_segmentor
    return load_segmentor(osp.join(REPO, model.config),
                          cfg_options=parse_cfg_options(model.options))


def model_size(model) -> Tuple[int, int]:
    """(parameters of the inference path, multiply-adds at 360x480)."""
    import torch

    from lrseg_mm.utils import count_macs, count_parameters
    params = count_parameters(model, exclude=('auxiliary_head', ))
    return params, count_macs(model, torch.zeros(1, 3, *INPUT_SHAPE)).macs


def measure_latency(models: Dict[str, object], rounds: int = 20, warmup: int = 3,
                    threads: int = 1) -> Dict[str, dict]:
    """Batch-1 CPU latency at 360x480 of several models, timed round-robin.

    What is timed is the network and the resize of the logits to the input
    (``encode_decode``, random weights: the time does not depend on them); medians over the
    rounds of this process's CPU time and of wall time.

    Args:
        models (dict): Name -> segmentor.
        rounds (int): Timed rounds. Default: 20.
        warmup (int): Untimed rounds first. Default: 3.
        threads (int): ``torch.set_num_threads``. Default: 1.

    Returns:
        dict: Name -> ``{'cpu_ms', 'wall_ms', 'threads', 'rounds', 'cpu'}``.
    """
    import torch

    from lrseg_mm.utils import InferenceRunner, cpu_model_name, round_robin
    torch.set_num_threads(threads)
    times = round_robin({n: InferenceRunner(m, INPUT_SHAPE) for n, m in models.items()},
                        rounds, warmup)
    return {n: dict(cpu_ms=round(times.median_ms(n, 'cpu'), 2),
                    wall_ms=round(times.median_ms(n, 'wall'), 2), threads=threads,
                    rounds=rounds, cpu=cpu_model_name()) for n in models}


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


def evaluate(run: Run, data_root: str, tools: ToolOptions, latency_rounds: int = 20,
             latency_threads: int = 1, archive_dir: Optional[str] = None) -> dict:
    """Val metrics, size and latency of a trained run, written to its ``result.json`` (and
    the archive)."""
    val, confusion, svn = evaluate_checkpoint(run, run.final_checkpoint, data_root, tools)
    model = load_model(run.model)
    params, macs = model_size(model)
    latency = measure_latency({run.name: model}, latency_rounds,
                              threads=latency_threads)[run.name]
    m = run.model
    result = dict(
        model=m.name, title=m.title, config=m.config, seed=run.seed, variant_of=m.variant_of,
        change=m.change, cfg_options=list(m.options), ours=m.ours, from_scratch=True,
        paper_pretrained=m.paper_pretrained, budget=run.budget.as_dict(),
        checkpoint=run.final_checkpoint, val=val, params=params, macs=macs,
        input_shape=list(INPUT_SHAPE), latency=latency,
        train_seconds_per_iter=training_seconds_per_iter(run.work_dir), tag=run.budget.tag,
        written=time.strftime('%Y-%m-%d %H:%M:%S'), curve=curve_record(run.work_dir),
        confusion=confusion, svn=svn)
    save_result(result, archive_dir)
    return result


def remeasure_latency(results: List[dict], rounds: int, threads: int,
                      archive_dir: Optional[str] = None) -> None:
    """Time every model of ``results`` round-robin in one go; update their result files."""
    models = {}
    for r in results:  # built as archived, also for a model no longer defined
        if r['model'] not in models:
            models[r['model']] = load_model(Model(r['model'], r['title'], r['config'],
                                                  options=tuple(r['cfg_options'])))
    latency = measure_latency(models, rounds=rounds, threads=threads)
    for result in results:
        result['latency'] = latency[result['model']]
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
        # results written before the archive existed lack these two
        result.setdefault('tag', osp.basename(budget_dir))
        if 'curve' not in result:
            result['curve'] = curve_record(osp.dirname(result['checkpoint']))
        results[result_name(result)] = result
    return [results[name] for name in sorted(results)]
