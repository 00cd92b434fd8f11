"""Test (and evaluate) a checkpoint; the same interface as mmseg's tools/test.py."""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

import lrseg_mm  # noqa: F401  (registers modules)
from lrseg_mm.engine import build_runner, load_run_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Test (and evaluate) a segmentor')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save evaluation results')
    parser.add_argument('--out', help='dir to save the predicted label maps')
    parser.add_argument('--show', action='store_true', help='show prediction results')
    parser.add_argument('--show-dir', help='dir to save overlay pictures of predictions')
    parser.add_argument('--wait-time', type=float, default=2, help='show interval (s)')
    parser.add_argument('--show-interval', type=int, default=1,
                        help='draw every n-th image (the toolbox draws every 50th)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--tta', action='store_true', help='test time augmentation')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def enable_visualization(cfg, args):
    """Turn on the SegVisualizationHook so predictions are drawn over the images."""
    hooks = cfg.default_hooks
    if 'visualization' not in hooks:
        raise ValueError('--show/--show-dir need default_hooks.visualization '
                         '(SegVisualizationHook) in the config')
    hooks.visualization.draw = True
    hooks.visualization.interval = args.show_interval
    if args.show:
        hooks.visualization.show = True
        hooks.visualization.wait_time = args.wait_time
    if args.show_dir:
        cfg.visualizer.save_dir = args.show_dir
        cfg.visualizer.vis_backends = [dict(type='LocalVisBackend')]
    return cfg


def enable_tta(cfg):
    """Test with test-time augmentation: the config's ``tta_pipeline`` and ``tta_model``.

    Raises:
        ValueError: Naming the keys the config lacks.
    """
    missing = [key for key in ('tta_pipeline', 'tta_model') if not cfg.get(key)]
    if missing:
        raise ValueError(f'--tta needs {" and ".join(missing)} in the config '
                         f'{cfg.filename}; the toolbox defines tta_model in '
                         "mmseg::_base_/default_runtime.py and tta_pipeline in its dataset "
                         'configs (e.g. mmseg::_base_/datasets/cityscapes.py)')
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    cfg.tta_model.module = cfg.model
    cfg.model = cfg.tta_model
    return cfg


def build_config(args):
    """The config of a test run: ``args`` applied to the config file."""
    cfg = load_run_config(args.config, args.launcher, args.cfg_options, args.work_dir)
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        cfg = enable_visualization(cfg, args)
    if args.tta:
        cfg = enable_tta(cfg)
    if args.out is not None:
        cfg.test_evaluator['output_dir'] = args.out
        cfg.test_evaluator['keep_results'] = True
    return cfg


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {args.checkpoint}')
    cfg = build_config(args)
    runner = build_runner(cfg)
    return runner.test()


if __name__ == '__main__':
    main()
