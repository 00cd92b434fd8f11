"""tools/test.py and mmseg's own test tool on our configs and checkpoints."""
import glob
import json
import os.path as osp
import socket
import sys

import cv2
import numpy as np
import pytest

from helpers import LRNNET_SYNTHETIC, REPO, load_tool, python_tool, run_tool, tiny_options

MMSEG_TEST = osp.join(osp.dirname(__import__('mmseg').__file__), '.mim', 'tools', 'test.py')


def test_test_tool_evaluates_draws_and_saves(trained_lrnnet, synthetic_root, tmp_path):
    work_dir, _ = trained_lrnnet
    ckpt = osp.join(work_dir, 'iter_4.pth')
    show_dir, out_dir = tmp_path / 'show', tmp_path / 'preds'
    result = python_tool('tools/test.py', LRNNET_SYNTHETIC, ckpt, '--work-dir',
                         str(tmp_path), '--show-dir', str(show_dir), '--out', str(out_dir),
                         '--cfg-options', *tiny_options(synthetic_root, 4))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert 'mIoU' in out
    pictures = glob.glob(str(show_dir / '**' / '*.png'), recursive=True)
    preds = glob.glob(str(out_dir / '**' / '*.png'), recursive=True)
    assert len(pictures) == 4 and len(preds) == 4  # one per val image
    label = cv2.imread(preds[0], cv2.IMREAD_UNCHANGED)
    assert label.shape == (64, 128) and label.max() < 19
    # ground truth and prediction side by side
    assert np.asarray(cv2.imread(pictures[0])).shape[:2] == (64, 256)


def _metrics(work_dir):
    """The summary metrics the Runner's logger wrote to ``<work_dir>/<stamp>/<stamp>.json``."""
    (path, ) = glob.glob(osp.join(str(work_dir), '*', '*.json'))
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def test_dist_test_tool_in_two_processes_equals_one(trained_lrnnet, synthetic_root, tmp_path):
    work_dir, _ = trained_lrnnet
    ckpt = osp.join(work_dir, 'iter_4.pth')
    options = ['--cfg-options', *tiny_options(synthetic_root, 4)]
    one = python_tool('tools/test.py', LRNNET_SYNTHETIC, ckpt, '--work-dir',
                      str(tmp_path / 'one'), *options)
    assert one.returncode == 0, (one.stdout + one.stderr)[-3000:]
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    # the several-machines form of the README with one machine: NNODES, NODE_RANK, MASTER_ADDR
    two = run_tool(['bash', 'tools/dist_test.sh', LRNNET_SYNTHETIC, ckpt, '2', '--work-dir',
                    str(tmp_path / 'two'), *options],
                   env=dict(PYTHON=sys.executable, NNODES='1', NODE_RANK='0',
                            MASTER_ADDR='127.0.0.1', PORT=str(port)))
    assert two.returncode == 0, (two.stdout + two.stderr)[-3000:]
    assert 'Distributed training: True' in two.stdout + two.stderr
    expected, got = _metrics(tmp_path / 'one'), _metrics(tmp_path / 'two')
    # the val images are split over the processes and the areas summed: the same counts
    assert {k: got[k] for k in ('aAcc', 'mIoU', 'mAcc')} == \
        {k: expected[k] for k in ('aAcc', 'mIoU', 'mAcc')}
    assert expected['mIoU'] > 0


def test_missing_checkpoint_is_named(tmp_path):
    result = python_tool('tools/test.py', LRNNET_SYNTHETIC, str(tmp_path / 'nope.pth'))
    assert result.returncode != 0
    assert 'checkpoint not found' in result.stderr and 'nope.pth' in result.stderr


def test_mmseg_own_test_tool_runs_our_checkpoint(trained_lrnnet, synthetic_root, tmp_path):
    work_dir, _ = trained_lrnnet
    result = python_tool(MMSEG_TEST, LRNNET_SYNTHETIC, osp.join(work_dir, 'iter_4.pth'),
                         '--work-dir', str(tmp_path), '--cfg-options',
                         *tiny_options(synthetic_root, 4))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert 'mIoU' in out


def _test_tool():
    return load_tool('tools/test.py')


def test_tta_without_tta_pipeline_names_what_is_missing(tmp_path):
    tool = _test_tool()
    # the synthetic dataset config defines no tta_pipeline (the toolbox's runtime base
    # defines tta_model)
    args = tool.parse_args([osp.join(REPO, LRNNET_SYNTHETIC), str(tmp_path / 'x.pth'),
                            '--tta'])
    with pytest.raises(ValueError, match=r'--tta needs tta_pipeline in the config'):
        tool.build_config(args)


def test_tta_with_toolbox_pipeline_wraps_the_model(tmp_path):
    tool = _test_tool()
    config = osp.join(REPO, 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py')
    cfg = tool.build_config(tool.parse_args([config, str(tmp_path / 'x.pth'), '--tta']))
    assert cfg.model.type == 'SegTTAModel'
    assert cfg.model.module.backbone.type == 'LRNNet'
