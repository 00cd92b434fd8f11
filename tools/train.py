"""Train a segmentor with MMEngine's Runner; the same interface as mmseg's tools/train.py."""
import argparse
import logging
import os
import os.path as osp

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log

import lrseg_mm  # noqa: F401  (registers modules)
from lrseg_mm.engine import build_runner, load_run_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a segmentor')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work_dir')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args) -> Config:
    cfg = load_run_config(args.config, args.launcher, args.cfg_options, args.work_dir)
    if args.amp:
        wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if wrapper not in AMP_WRAPPERS:
            raise ValueError(f'--amp needs optim_wrapper type OptimWrapper or '
                             f'AmpOptimWrapper, the config has {wrapper}')
        # mmengine's AmpOptimWrapper needs CUDA; on CPU lrseg_mm's wrapper does the same
        cfg.optim_wrapper.type = ('AmpOptimWrapper'
                                  if torch.cuda.is_available() else 'CPUAmpOptimWrapper')
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    cfg.resume = args.resume
    return cfg


AMP_WRAPPERS = ('OptimWrapper', 'AmpOptimWrapper', 'CPUAmpOptimWrapper')


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    if args.resume and not _has_checkpoint(cfg.work_dir):
        print_log(f'--resume: no checkpoint in {cfg.work_dir}, starting from scratch',
                  logger='current', level=logging.WARNING)
    # as the toolbox's tools/train.py: our configs select lrseg_mm's LrsegRunner this way
    runner = build_runner(cfg)
    runner.train()


def _has_checkpoint(work_dir: str) -> bool:
    return osp.isfile(osp.join(work_dir, 'last_checkpoint'))


if __name__ == '__main__':
    main()
