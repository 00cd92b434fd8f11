"""The command line of the CamVid benchmark (see :mod:`benchmarks.camvid`)."""
import argparse
import os.path as osp
import shlex
import sys

from .analysis import aggregate, ablation_groups, benchmark_groups, enet_class_weights
from .models import CLASSES, MODELS, resolve_models
from .report import (ablation_table, benchmark_table, confusion_table, draw_pictures,
                     report)
from .runs import (DEFAULT_ARCHIVE_DIR, DEFAULT_DATA_ROOT, DEFAULT_RUNS_DIR, REPO, Budget, Run,
                   ToolOptions, check_camvid_root, checkpoint_interval, evaluate,
                   evaluate_checkpoint, load_results, measure_latency, result_name, save_result,
                   train)

COMMANDS = ('run', 'train', 'evaluate', 'latency', 'report', 'pictures', 'confusion', 'list',
            'class-weights')


def parse_args(argv=None):
    """The command line (``argv``: its arguments; default: ``sys.argv``)."""
    parser = argparse.ArgumentParser(
        prog='python -m benchmarks.camvid',
        description='CamVid benchmark: train from scratch, evaluate on val, time on CPU',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    add = parser.add_argument
    add('command', choices=COMMANDS, help='run = train + evaluate + latency (round-robin) + '
        'report; pictures = tools/infer.py on val frames of the first model and seed; '
        'confusion = where each class\'s val pixels go and the SVN diagnostics (kept in the '
        'result); class-weights = ENet class weights of the train split')
    add('--models', nargs='+', default=['all'], help='model names (see `list`), `all` or '
        '`ablations`; when ablation variants are among them, `report` writes the ablation '
        'table only')
    add('--seeds', nargs='+', type=int, default=[0])
    add('--epochs', type=float, default=30, help='training budget in epochs of CamVid train')
    add('--batch-size', type=int, default=4)
    add('--max-iters', type=int, default=None,
        help='iterations instead of --epochs (smoke runs, tests)')
    add('--data-root', default=DEFAULT_DATA_ROOT, help='CamVid in the SegNet layout')
    add('--runs-dir', default=DEFAULT_RUNS_DIR, help='where runs go (outside the checkout)')
    add('--archive-dir', default=DEFAULT_ARCHIVE_DIR, help='where finished runs\' results are '
        'kept (in the repository); an archived run counts as done')
    add('--workers', type=int, default=None, help='dataloader workers (default: the config\'s)')
    add('--train-threads', type=int, default=None,
        help='OMP_NUM_THREADS of the training and test processes')
    add('--latency-rounds', type=int, default=20)
    add('--latency-threads', type=int, default=1)
    add('--cfg-options', nargs='+', default=[],
        help='extra key=value options for every training and test run')
    add('--quiet', action='store_true', help='do not stream the tools\' output')
    add('--benchmarks-md', default=osp.join(REPO, 'BENCHMARKS.md'))
    add('--readme', default=osp.join(REPO, 'README.md'))
    add('--ablation-md', default=osp.join(REPO, 'configs', 'lrnnet', 'README.md'))
    add('--plot', default=osp.join(REPO, 'benchmarks', 'camvid_miou_vs_latency.png'))
    add('--curves', default=osp.join(REPO, 'benchmarks', 'camvid_learning_curves.png'),
        help='report: PNG of the training-loss curves')
    add('--frames', type=int, default=3, help='pictures: val frames')
    add('--picture', default=osp.join(REPO, 'docs', 'camvid_lrnnet_val.png'),
        help='pictures: output PNG')
    add('--checkpoint', default=None, help='confusion: this checkpoint instead of the run\'s '
        'final one (e.g. the shipped one, when the run folder is gone)')
    add('--no-write', action='store_true', help='report: print the tables, write no file')
    return parser.parse_args(argv)


def list_models() -> None:
    """The ``list`` command: every model, and the options of each variant."""
    for model in MODELS.values():
        kind = f'ablation of {model.variant_of}: {model.change}' if model.variant_of else \
            ('ours' if model.ours else 'toolbox')
        print(f'{model.name:20s} {model.config}  ({kind})')
        if model.options:
            # quoted for a shell: `(0.,0.,0.)` would be a syntax error there
            print(f'{"":20s} --cfg-options {" ".join(map(shlex.quote, model.options))}')


def train_and_evaluate(args, runs, tools, archived, archive_dir) -> int:
    """The ``run``, ``train`` and ``evaluate`` steps of every run; 1 if one failed."""
    budget = runs[0].budget
    print(f'{len(runs)} run(s) in {osp.dirname(runs[0].work_dir)}: {budget.max_iters} '
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
                resumed = osp.isfile(osp.join(run.work_dir, 'last_checkpoint'))
                print(f'{step}: {"continuing" if resumed else "starting"} training, checkpoint '
                      f'every {checkpoint_interval(run.model, budget)} iterations -> '
                      f'{run.work_dir}')
                train(run, tools)
            if args.command in ('run', 'evaluate'):
                if not osp.isfile(run.final_checkpoint):
                    print(f'{step}: not trained yet, skipped')
                    continue
                print(f'{step}: evaluating on val')
                result = evaluate(run, tools, args.latency_rounds, args.latency_threads,
                                  archive_dir)
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
    return 0


def confusion(args, runs, tools, known, archive_dir) -> int:
    """The ``confusion`` command: evaluate checkpoints, print and keep what they show."""
    for run in runs:
        checkpoint = args.checkpoint or run.final_checkpoint
        if not osp.isfile(checkpoint):
            if args.checkpoint:
                print(f'error: no checkpoint {checkpoint}', file=sys.stderr)
                return 2
            print(f'{run.name}: not trained yet, skipped')
            continue
        _, matrix, svn = evaluate_checkpoint(run, checkpoint, tools)
        print(f'{run.name} ({checkpoint}): % of each true class\'s val pixels')
        print(confusion_table(matrix))
        if svn:
            print('SVN attention: mean entropy {entropy} of log(S) = {max_entropy}; mean '
                  'largest weight {max_weight} vs 1/S = {uniform_weight}; val mIoU with the '
                  'block as the identity {identity_mIoU}'.format(**svn))
        if run.name in known:
            known[run.name].update(confusion=matrix, svn=svn, confusion_checkpoint=checkpoint)
            save_result(known[run.name], archive_dir)
            print(f'kept in the result of {run.name}')
    return 0


def main(argv=None) -> int:
    """Run the command line ``argv``; returns the exit status."""
    args = parse_args(argv)
    if args.command == 'list':
        list_models()
        return 0
    runs_dir = osp.abspath(osp.expanduser(args.runs_dir))
    args.data_root = osp.abspath(args.data_root)
    if args.command == 'class-weights':
        counts, weights = enet_class_weights(args.data_root)
        for name, count, weight in zip(CLASSES, counts, weights):
            print(f'{name:12s} {count:12d} pixels  weight {weight:.3f}')
        print(f'class_weight=[{",".join(map(str, weights))}]')
        return 0
    if args.command == 'report' and args.max_iters is None:
        # the report needs no data: the budget folder is named by epochs and batch
        budget = Budget(args.epochs, args.batch_size, 0, 0)
    else:
        try:
            counts = check_camvid_root(args.data_root)
            budget = Budget.make(counts['train'], args.batch_size, args.epochs, args.max_iters)
        except (FileNotFoundError, ValueError) as error:
            print(f'error: {error}', file=sys.stderr)
            return 2
    models = resolve_models(args.models)
    runs = [Run(m, s, budget, runs_dir) for m in models for s in args.seeds]
    tools = ToolOptions(args.data_root, args.cfg_options, args.workers, args.train_threads,
                        args.quiet)
    budget_dir = osp.join(runs_dir, budget.tag)
    archive_dir = osp.abspath(args.archive_dir)
    known = {result_name(r): r for r in load_results(budget_dir, archive_dir)}
    if args.command in ('run', 'train', 'evaluate'):
        if train_and_evaluate(args, runs, tools, set(known), archive_dir):
            return 1
    if args.command == 'confusion':
        return confusion(args, runs, tools, known, archive_dir)
    if args.command == 'pictures':
        frames = draw_pictures(runs[0], args.picture, tools, args.frames)
        print(f'{args.picture}: {len(frames)} val frame(s) of {runs[0].name}')
    if args.command in ('run', 'latency'):
        results = load_results(budget_dir, archive_dir)
        if results:
            print(f'timing {len({r["model"] for r in results})} model(s) round-robin')
            measure_latency(results, args.latency_rounds, args.latency_threads, archive_dir)
    if args.command in ('run', 'report'):
        if args.no_write:
            groups = aggregate(load_results(budget_dir, archive_dir))
            print(benchmark_table(benchmark_groups(groups)))
            print(ablation_table(ablation_groups(groups)))
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
