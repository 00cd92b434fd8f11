"""Reporting the CamVid results: tables into the documents' generated sections, plots, the
confusion table and the pictures of val frames."""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

from ..sections import markdown_table, write_section
from .analysis import (HEAD_VARIANTS, Aggregate, ablation_groups, aggregate, benchmark_groups,
                       described, final_training_loss, in_benchmark_table, mean_of,
                       moving_average, order)
from .models import CLASSES, SHORT_CLASS_NAMES
from .runs import Run, ToolOptions, frame_names, load_results, result_name

BENCHMARK_SECTION, SUMMARY_SECTION = 'camvid', 'camvid-summary'
ABLATION_SECTION = 'camvid-ablation-'  # + the budget tag: one table per budget
# Classes the ablation table shows one by one: those Model C misses at 30 epochs.
ABLATION_CLASSES = ('pole', 'signsymbol', 'car', 'pedestrian', 'bicyclist')


def _cell(value: Optional[float], fmt: str = '.1f') -> str:
    """A number of a table, '-' for none."""
    return '-' if value is None else format(value, fmt)


def _title(result: dict, bold: bool = False) -> str:
    """A model's name in the tables and plots (``bold``: ours in bold), † where its paper
    starts from ImageNet weights."""
    title = described(result, 'title')
    title = f'**{title}** (ours)' if bold and result['ours'] else title
    return title + (' †' if result['paper_pretrained'] else '')


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
    """The benchmark table of ``groups``: one row per model, per-class IoU optional."""
    from lrseg_mm.utils import format_count
    header = ['model', 'params', 'MACs @360x480', 'CPU ms', 'val mIoU']
    rows = []
    for agg in (groups[n] for n in order(groups)):
        rows.append([_title(agg.first, bold=True), format_count(agg.first['params']),
                     format_count(agg.first['macs']), f'{agg.cpu_ms:.0f}', agg.miou_text()]
                    + ([_cell(agg.class_iou(c)) for c in CLASSES] if with_classes else []))
    return markdown_table(header + (list(SHORT_CLASS_NAMES) if with_classes else []), rows)


# What the ablation table's deltas are taken against: Model C where it ran at the budget,
# else Model A without dropout (the reference of the SVN-block screen).
ABLATION_REFERENCES = ('lrnnet-c', 'lrnnet-a-drop0')


def ablation_table(groups: Dict[str, Aggregate]) -> str:
    """The variants (and Models A, B) of ``groups`` against the first of
    :data:`ABLATION_REFERENCES` among them: the IoU of the classes Model C misses, the final
    training loss (underfitting) and the SVN diagnostics (mean attention entropy against
    log S, mean largest weight against 1/S, val mIoU with the block as the identity)."""
    short = dict(zip(CLASSES, SHORT_CLASS_NAMES))
    reference = next((n for n in ABLATION_REFERENCES if n in groups), None)
    header = ['variant', 'change', 'params', 'val mIoU',
              f'Δ mIoU vs `{reference}`' if reference else 'Δ mIoU',
              *(short[c] for c in ABLATION_CLASSES), 'final train loss', 'SVN entropy (log S)',
              'SVN largest weight (1/S)', 'mIoU, SVN as identity']
    base, rows = groups.get(reference), []
    names = ['lrnnet-c'] + [n for n in order(groups)
                            if n in HEAD_VARIANTS or groups[n].first['variant_of']]
    for name in (n for n in names if n in groups):
        agg = groups[name]
        delta = '' if base is None or name == reference else f'{agg.miou - base.miou:+.1f}'
        change = described(agg.first, 'change') or HEAD_VARIANTS.get(name, 'defaults (Model C)')
        svn = [r.get('svn') or {} for r in agg.runs]
        entropy, weight = (mean_of([s.get(k) for s in svn]) for k in ('entropy', 'max_weight'))
        uniform = next((s for s in svn if s), {})  # log S and 1/S of the model
        rows.append([f'`{name}`', change, f'{agg.first["params"]:,}', agg.miou_text(), delta]
                    + [_cell(agg.class_iou(c)) for c in ABLATION_CLASSES] + [
            _cell(mean_of(list(map(final_training_loss, agg.runs))), '.3f'),
            '-' if entropy is None else f'{entropy:.2f} ({uniform["max_entropy"]:.2f})',
            '-' if weight is None else f'{weight:.3f} ({uniform["uniform_weight"]:.4f})',
            _cell(mean_of([s.get('identity_mIoU') for s in svn]))])
    return markdown_table(header, rows, align='ll')


def confusion_table(confusion: Sequence[Sequence[int]]) -> str:
    """Markdown table of a confusion matrix, each row as % of that class's pixels."""
    rows = []
    for t, (name, row) in enumerate(zip(SHORT_CLASS_NAMES, confusion)):
        total = sum(row)
        cells = [f'{100 * v / total:.1f}' if total else '-' for v in row]
        if total:
            cells[t] = f'**{cells[t]}**'
        rows.append([name] + cells)
    return markdown_table(['true class', *SHORT_CLASS_NAMES], rows)


def _figure():
    """A new figure and axes of the report's plots (matplotlib without a display)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt.subplots(figsize=(6.4, 4.2), dpi=90)


def _save(fig, ax, path: str, xlabel: str, ylabel: str) -> None:
    """Label, grid and write a plot."""
    import matplotlib.pyplot as plt
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which='both')
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot(groups: Dict[str, Aggregate], path: str, title: str) -> None:
    """Val mIoU against CPU latency, one point per model of ``groups`` (seed range as error
    bar), written to ``path`` under ``title``."""
    fig, ax = _figure()
    for agg in (groups[n] for n in order(groups)):
        ours = agg.first['ours']
        low, high = agg.miou - min(agg.mious), max(agg.mious) - agg.miou
        ax.errorbar(agg.cpu_ms, agg.miou, yerr=[[low], [high]], fmt='o' if ours else 's',
                    color='tab:red' if ours else 'tab:blue', capsize=3, markersize=5)
        ax.annotate(_title(agg.first), (agg.cpu_ms, agg.miou), textcoords='offset points',
                    xytext=(5, 4), fontsize=7)
    ax.set_title(title, fontsize=9)
    _save(fig, ax, path, 'CPU latency at 360x480, batch 1 (ms)', 'CamVid val mIoU (%)')


def plot_learning_curves(results: List[dict], path: str, window: int = 10) -> List[str]:
    """Training loss against epochs, one line per result with a kept curve (mean of
    ``window`` logged values), written to ``path`` unless there is none; returns the runs
    drawn."""
    drawn = sorted((r for r in results if r.get('curve')), key=lambda r: (r['model'], r['seed']))
    if not drawn:
        return []
    fig, ax = _figure()
    for result in drawn:
        curve, budget = result['curve'], result['budget']
        epochs = [i * budget['batch_size'] / budget['train_images'] for i in curve['steps']]
        label = f"{described(result, 'title')} (seed {result['seed']})" + \
            ('' if curve['key'] == 'decode.loss_ce' else f' [{curve["key"]}]')
        ax.plot(epochs, moving_average(curve['values'], window), lw=1.2, label=label,
                ls='-' if result['ours'] else '--')
    ax.set_yscale('log')
    ax.legend(fontsize=6)
    _save(fig, ax, path, 'epochs of CamVid train',
          f'main-head training loss (mean of {window} logged values)')
    return [result_name(result) for result in drawn]


def report(budget_dir: str, benchmarks_md: Optional[str] = None, readme: Optional[str] = None,
           ablation_md: Optional[str] = None, plot_path: Optional[str] = None,
           ablation: bool = False, curves_path: Optional[str] = None,
           archive_dir: Optional[str] = None) -> Dict[str, Aggregate]:
    """Write the tables of a budget's results into the generated sections and draw the plots.

    The results are those of ``budget_dir`` (``<runs dir>/<budget tag>``) and of
    ``archive_dir`` (FileNotFoundError when there are none). ``benchmarks_md`` gets the
    full table (``camvid`` section), ``readme`` the short one (``camvid-summary``);
    ``plot_path`` and ``curves_path`` are PNGs of val mIoU against CPU latency and of the
    training-loss curves. With ``ablation`` (usually another budget) only the ablation table
    is written, into ``ablation_md`` (section ``camvid-ablation-<tag>``, added after the last
    one if missing). Returns model name -> :class:`Aggregate` of the models written.
    """
    results = load_results(budget_dir, archive_dir)
    if not results:
        raise FileNotFoundError(f'no result.json under {budget_dir}/*/: run the benchmark '
                                f'first (or pass the --epochs/--batch-size it ran with)')
    groups = aggregate(results)
    main = ablation_groups(groups) if ablation else benchmark_groups(groups)
    notes = (f'**Measured by us** (`python -m benchmarks.camvid report`, last result '
             f'{max(r["written"] for r in results)}).')
    if ablation:
        if ablation_md:
            tag = osp.basename(osp.normpath(budget_dir))
            body = [budget_line(results), '', ablation_table(main), '', notes]
            write_section(ablation_md, ABLATION_SECTION + tag, '\n'.join(body),
                          after=f'<!-- END {ABLATION_SECTION}')
        return main
    if not main:
        return main
    budget = results[0]['budget']
    if any(g.first['paper_pretrained'] for g in main.values()):
        notes += ' † trained from scratch here; its paper starts from ImageNet weights.'
    if plot_path:
        plot(main, plot_path, f'CamVid val, {budget["iterations"]} iterations x batch '
                              f'{budget["batch_size"]}, from scratch')
    rows = [r for r in results if in_benchmark_table(r)]
    curves = plot_learning_curves(rows, curves_path) if curves_path else []
    if benchmarks_md:
        body = [budget_line(results), '', benchmark_table(main), '', notes]
        here = osp.dirname(osp.abspath(benchmarks_md))
        if plot_path:
            body += ['', f'![CamVid val mIoU against CPU latency]'
                         f'({osp.relpath(plot_path, here)})']
        if curves:
            body += ['', f'![Training loss of each run against epochs]'
                         f'({osp.relpath(curves_path, here)})']
            missing = sorted(set(map(result_name, rows)) - set(curves))
            if missing:
                body += ['', f'Not in the curves (no training log kept: the run folder is '
                             f'gone and its result predates the archived curve): '
                             f'{", ".join(missing)}.']
        write_section(benchmarks_md, BENCHMARK_SECTION, '\n'.join(body))
    if readme:
        body = [f'Budget: {budget["epochs"] or budget["seen_epochs"]:g} epochs of CamVid '
                f'train ({budget["iterations"]} iterations x batch {budget["batch_size"]}, '
                '360x480 crops), every model from scratch; mIoU on CamVid val.', '',
                benchmark_table(main, with_classes=False), '',
                notes + ' Protocol and per-class IoU: '
                '[BENCHMARKS.md](BENCHMARKS.md#camvid-trained-from-scratch).']
        write_section(readme, SUMMARY_SECTION, '\n'.join(body))
    return main


def draw_pictures(run: Run, out_path: str, tools: ToolOptions, num_frames: int = 3,
                  width: int = 240) -> List[str]:
    """Draw ``num_frames`` evenly spaced CamVid val frames (returned) into the 256-colour PNG
    ``out_path``, a row each: frame | ground truth (void black) | ``tools/infer.py``'s
    overlay of the ``run``'s final checkpoint (FileNotFoundError without it), every panel
    ``width`` pixels wide; ``tools``: the data root, and how the tool runs."""
    import numpy as np
    from PIL import Image

    from lrseg_mm.datasets import CamVidDataset
    if not osp.isfile(run.final_checkpoint):
        raise FileNotFoundError(f'{run.name} has no final checkpoint {run.final_checkpoint}')
    names = frame_names(osp.join(tools.data_root, 'val'))
    step = max(1, len(names) // num_frames)
    chosen = names[step // 2::step][:num_frames]
    frames = [osp.join(tools.data_root, 'val', n) for n in chosen]
    infer_dir = osp.join(run.work_dir, 'pictures')
    options = ['--cfg-options', *run.model.options] if run.model.options else []
    run.tool('infer', tools, run.final_checkpoint, *frames, '--out-dir', infer_dir,
             '--no-progress', '--device', 'cpu', *options, log='pictures')
    palette = np.array(CamVidDataset.METAINFO['palette'] + [[0, 0, 0]] * 245, np.uint8)
    rows = []
    for name, frame in zip(chosen, frames):
        label = np.array(Image.open(osp.join(tools.data_root, 'valannot', name)))
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
