"""Reporting the CamVid results: tables into the documents' generated sections, plots, the
confusion table and the pictures of val frames."""
import os
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence

from ..sections import write_section
from .analysis import (HEAD_VARIANTS, Aggregate, ablation_groups, aggregate, described,
                       final_training_loss, in_benchmark_table, moving_average, order,
                       svn_diagnostics)
from .models import CLASSES, SHORT_CLASS_NAMES
from .runs import REPO, Run, ToolOptions, frame_names, learning_curve, load_results, \
    result_name, run_tool

BENCHMARK_SECTION, SUMMARY_SECTION = 'camvid', 'camvid-summary'
ABLATION_SECTION = 'camvid-ablation-'  # + the budget tag: one table per budget
# Classes the ablation table shows one by one: those Model C misses at 30 epochs.
ABLATION_CLASSES = ('pole', 'signsymbol', 'car', 'pedestrian', 'bicyclist')
SHORT = dict(zip(CLASSES, SHORT_CLASS_NAMES))


def _cell(value: Optional[float], fmt: str = '.1f') -> str:
    return '-' if value is None else format(value, fmt)


def _title(agg: Aggregate) -> str:
    first = agg.first
    title = described(first, 'title')
    title = f'**{title}** (ours)' if first['ours'] else title
    return title + (' †' if first['paper_pretrained'] else '')


def budget_line(results: List[dict]) -> str:
    """The protocol of a budget's results, for the line above its tables."""
    budget, latency = results[0]['budget'], results[0]['latency']
    return (f'Budget: {budget["epochs"] or budget["seen_epochs"]:g} epochs of CamVid train '
            f'({budget["train_images"]} frames) = {budget["iterations"]} iterations x batch '
            f'{budget["batch_size"]} on {budget["crop"][0]}x{budget["crop"][1]} crops, from '
            'scratch, one recipe for every model (`configs/_base_/camvid_benchmark_recipe.py`: '
            'Adam, poly decay, random resize 0.5-2.0 + crop + flip + photometric distortion, '
            'no class weights). mIoU: CamVid **val** (101 frames, 11 classes, void ignored), '
            'the toolbox\'s `IoUMetric`; mean over seeds, ± half the range. CPU ms: batch 1 '
            f'at 360x480 (network + resize of the logits), median of {latency["rounds"]} '
            f'round-robin rounds, process CPU time, {latency["threads"]} thread(s), '
            f'{latency["cpu"]}. MACs: multiply-adds at 360x480 (`lrseg_mm.utils.flops`); '
            'params: inference path (auxiliary heads excluded).')


def benchmark_table(groups: Dict[str, Aggregate], with_classes: bool = True) -> str:
    """The benchmark table: one row per model, per-class IoU optional."""
    from lrseg_mm.utils import format_count
    header = ['model', 'params', 'MACs @360x480', 'CPU ms', 'val mIoU']
    header += list(SHORT_CLASS_NAMES) if with_classes else []
    lines = ['| ' + ' | '.join(header) + ' |',
             '|' + '|'.join(['---'] + ['---:'] * (len(header) - 1)) + '|']
    for name in order(groups):
        agg = groups[name]
        row = [_title(agg), format_count(agg.first['params']), format_count(agg.first['macs']),
               f'{agg.cpu_ms:.0f}', agg.miou_text()]
        row += [_cell(agg.class_iou(c)) for c in CLASSES] if with_classes else []
        lines.append('| ' + ' | '.join(row) + ' |')
    return '\n'.join(lines)


def ablation_table(groups: Dict[str, Aggregate]) -> str:
    """The variants (and Models A, B) against Model C at the same budget: the IoU of the
    classes Model C misses, the final training loss (underfitting) and the SVN diagnostics
    (mean attention entropy against log S, mean largest weight against 1/S, val mIoU with
    the block replaced by the identity)."""
    lines = ['| variant | change | params | val mIoU | Δ mIoU vs Model C | '
             + ' | '.join(SHORT[c] for c in ABLATION_CLASSES) + ' | final train loss | '
             'SVN entropy (log S) | SVN largest weight (1/S) | mIoU, SVN as identity |',
             '|---|---|---:|---:|---:|' + '---:|' * (len(ABLATION_CLASSES) + 4)]
    base = groups.get('lrnnet-c')
    names = ['lrnnet-c'] + [n for n in order(groups)
                            if n in HEAD_VARIANTS or groups[n].first['variant_of']]
    for name in (n for n in names if n in groups):
        agg = groups[name]
        delta = '' if base is None or name == 'lrnnet-c' else f'{agg.miou - base.miou:+.1f}'
        change = described(agg.first, 'change') or HEAD_VARIANTS.get(name, 'defaults (Model C)')
        svn = [svn_diagnostics(r) or {} for r in agg.runs]
        entropy, weight = (agg.mean_of([s.get(k) for s in svn])
                           for k in ('entropy', 'max_weight'))
        uniform = next((s for s in svn if s), {})  # log S and 1/S of the model
        cells = [_cell(agg.class_iou(c)) for c in ABLATION_CLASSES] + [
            _cell(agg.mean_of(map(final_training_loss, agg.runs)), '.3f'),
            '-' if entropy is None else f'{entropy:.2f} ({uniform["max_entropy"]:.2f})',
            '-' if weight is None else f'{weight:.3f} ({uniform["uniform_weight"]:.4f})',
            _cell(agg.mean_of([s.get('identity_mIoU') for s in svn]))]
        lines.append(f'| `{name}` | {change} | {agg.first["params"]:,} | {agg.miou_text()} | '
                     f'{delta} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def confusion_table(confusion: Sequence[Sequence[int]]) -> str:
    """Markdown table of a confusion matrix, each row as % of that class's pixels."""
    lines = ['| true class | ' + ' | '.join(SHORT_CLASS_NAMES) + ' |',
             '|---|' + '---:|' * len(SHORT_CLASS_NAMES)]
    for t, (name, row) in enumerate(zip(SHORT_CLASS_NAMES, confusion)):
        total = sum(row)
        cells = ['-' if not total else (f'**{100 * v / total:.1f}**' if p == t
                                        else f'{100 * v / total:.1f}')
                 for p, v in enumerate(row)]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


def plot(groups: Dict[str, Aggregate], path: str, title: str) -> None:
    """Val mIoU against CPU latency, one point per model (seed range as error bar)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=90)
    for name in order(groups):
        agg = groups[name]
        ours = agg.first['ours']
        low, high = agg.miou - min(agg.mious), max(agg.mious) - agg.miou
        ax.errorbar(agg.cpu_ms, agg.miou, yerr=[[low], [high]], fmt='o' if ours else 's',
                    color='tab:red' if ours else 'tab:blue', capsize=3, markersize=5)
        label = described(agg.first, 'title') + (' †' if agg.first['paper_pretrained'] else '')
        ax.annotate(label, (agg.cpu_ms, agg.miou), textcoords='offset points', xytext=(5, 4),
                    fontsize=7)
    ax.set_xlabel('CPU latency at 360x480, batch 1 (ms)')
    ax.set_ylabel('CamVid val mIoU (%)')
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_learning_curves(results: List[dict], path: str, window: int = 10) -> List[str]:
    """Training loss against epochs, one line per run; returns the runs drawn (no file is
    written when no run has a logged curve)."""
    curves = []
    for result in sorted(results, key=lambda r: (r['model'], r['seed'])):
        curve = learning_curve(osp.dirname(result['checkpoint']))
        if curve is None and result.get('curve'):
            curve = tuple(result['curve'][k] for k in ('steps', 'values', 'key'))
        if curve is not None:
            curves.append((result, curve))
    if not curves:
        return []
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=90)
    for result, (steps, losses, key) in curves:
        budget = result['budget']
        epochs = [i * budget['batch_size'] / budget['train_images'] for i in steps]
        label = f"{described(result, 'title')} (seed {result['seed']})" + \
            ('' if key == 'decode.loss_ce' else f' [{key}]')
        ax.plot(epochs, moving_average(losses, window), lw=1.2, label=label,
                ls='-' if result['ours'] else '--')
    ax.set_xlabel('epochs of CamVid train')
    ax.set_ylabel(f'main-head training loss (mean of {window} logged values)')
    ax.set_yscale('log')
    ax.grid(alpha=0.3, which='both')
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return [result_name(result) for result, _ in curves]


def report(budget_dir: str, benchmarks_md: Optional[str] = None, readme: Optional[str] = None,
           ablation_md: Optional[str] = None, plot_path: Optional[str] = None,
           ablation: bool = False, curves_path: Optional[str] = None,
           archive_dir: Optional[str] = None) -> Dict[str, Aggregate]:
    """Write the tables of a budget's results into the generated sections and draw the plots.

    The benchmark (``ablation=False``) and the ablations usually run at different budgets, so
    one call writes one of them and leaves the other's sections alone.

    Args:
        budget_dir (str): ``RUNS_DIR/<budget tag>``.
        benchmarks_md (str | None): File with the ``camvid`` section (full table).
        readme (str | None): File with the ``camvid-summary`` section (short table).
        ablation_md (str | None): File with the ablation sections, one per budget
            (``camvid-ablation-<tag>``); a budget's section is added after the last one if
            missing.
        plot_path (str | None): PNG of val mIoU against CPU latency.
        ablation (bool): Write the ablation table (Model C and its variants) instead of the
            benchmark tables and plot. Default: False.
        curves_path (str | None): PNG of the benchmark runs' training-loss curves.
        archive_dir (str | None): Archived results (see ``runs.load_results``).

    Returns:
        dict: Model name -> :class:`Aggregate` of the models written.

    Raises:
        FileNotFoundError: If the budget has no results.
    """
    results = load_results(budget_dir, archive_dir)
    if not results:
        raise FileNotFoundError(f'no result.json under {budget_dir}/*/: run the benchmark '
                                f'first (or pass the --epochs/--batch-size it ran with)')
    groups = aggregate(results)
    main = {n: g for n, g in groups.items() if in_benchmark_table(g.first)}
    stamp = max(r['written'] for r in results)
    notes = f'**Measured by us** (`python -m benchmarks.camvid report`, last result {stamp}).'
    if ablation:
        if ablation_md:
            tag = osp.basename(osp.normpath(budget_dir))
            body = [budget_line(results), '', ablation_table(ablation_groups(groups)), '', notes]
            write_section(ablation_md, ABLATION_SECTION + tag, '\n'.join(body),
                          after=f'<!-- END {ABLATION_SECTION}')
        return ablation_groups(groups)
    if not main:
        return main
    budget = results[0]['budget']
    if any(g.first['paper_pretrained'] for g in main.values()):
        notes += ' † trained from scratch here; its paper starts from ImageNet weights.'
    if plot_path:
        plot(main, plot_path, f'CamVid val, {budget["iterations"]} iterations x batch '
                              f'{budget["batch_size"]}, from scratch')
    curves = []
    if curves_path:
        curves = plot_learning_curves([r for r in results if in_benchmark_table(r)],
                                      curves_path)
    if benchmarks_md:
        body = [budget_line(results), '', benchmark_table(main), '', notes]
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
        write_section(benchmarks_md, BENCHMARK_SECTION, '\n'.join(body))
    if readme:
        short_budget = (f'{budget["epochs"] or budget["seen_epochs"]:g} epochs of CamVid '
                        f'train ({budget["iterations"]} iterations x batch '
                        f'{budget["batch_size"]}, 360x480 crops), every model from scratch; '
                        'mIoU on CamVid val')
        body = [f'Budget: {short_budget}.', '', benchmark_table(main, with_classes=False), '',
                notes + ' Protocol and per-class IoU: '
                '[BENCHMARKS.md](BENCHMARKS.md#camvid-trained-from-scratch).']
        write_section(readme, SUMMARY_SECTION, '\n'.join(body))
    return main


def draw_pictures(run: Run, data_root: str, out_path: str, tools: ToolOptions,
                  num_frames: int = 3, width: int = 240) -> List[str]:
    """Frames of CamVid val, their ground truth and ``tools/infer.py``'s overlays, side by side.

    ``tools/infer.py`` segments ``num_frames`` evenly spaced val frames with the run's final
    checkpoint; each row of the picture is frame | ground truth (void black) | overlay,
    every panel downscaled to ``width`` pixels, saved as a 256-colour PNG to stay small.

    Returns:
        list[str]: The val frames used.

    Raises:
        FileNotFoundError: If the run has no final checkpoint.
    """
    import numpy as np
    from PIL import Image

    from lrseg_mm.datasets import CamVidDataset
    if not osp.isfile(run.final_checkpoint):
        raise FileNotFoundError(f'{run.name} has no final checkpoint {run.final_checkpoint}')
    names = frame_names(osp.join(data_root, 'val'))
    step = max(1, len(names) // num_frames)
    chosen = names[step // 2::step][:num_frames]
    frames = [osp.join(data_root, 'val', n) for n in chosen]
    infer_dir = osp.join(run.work_dir, 'pictures')
    args = [sys.executable, osp.join(REPO, 'tools', 'infer.py'),
            osp.join(REPO, run.model.config), run.final_checkpoint, *frames, '--out-dir',
            infer_dir, '--no-progress', '--device', 'cpu']
    if run.model.options:
        args += ['--cfg-options', *run.model.options]
    run_tool(args, osp.join(run.work_dir, 'benchmark_pictures.log'), tools)
    palette = np.array(CamVidDataset.METAINFO['palette'] + [[0, 0, 0]] * 245, np.uint8)
    rows = []
    for name, frame in zip(chosen, frames):
        label = np.array(Image.open(osp.join(data_root, 'valannot', name)))
        overlay = osp.join(infer_dir, 'overlays', osp.splitext(name)[0] + '.png')
        panels = [Image.open(frame).convert('RGB'), Image.fromarray(palette[label]),
                  Image.open(overlay).convert('RGB')]
        height = round(panels[0].height * width / panels[0].width)
        rows.append(np.concatenate(
            [np.asarray(p.resize((width, height), Image.BILINEAR)) for p in panels], axis=1))
    os.makedirs(osp.dirname(osp.abspath(out_path)), exist_ok=True)
    picture = Image.fromarray(np.concatenate(rows, axis=0))
    picture.quantize(colors=256, method=Image.MEDIANCUT).save(out_path, optimize=True)
    return frames
