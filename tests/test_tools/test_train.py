"""tools/train.py, --resume, mmseg's own train tool and tools/dist_train.sh on CPU."""
import os
import os.path as osp
import sys

import pytest
import torch

from helpers import LRNNET_SYNTHETIC, REPO, python_tool, run_tool, tiny_options
from lrseg_mm.engine import load_local_checkpoint

MMSEG_TRAIN = osp.join(osp.dirname(__import__('mmseg').__file__), '.mim', 'tools', 'train.py')


def _iters_logged(log_text):
    return [int(line.split('[')[1].split('/')[0]) for line in log_text.splitlines()
            if 'Iter(train) [' in line]


def _load(path):
    return load_local_checkpoint(str(path), map_location='cpu')  # mmengine's types allowed


def test_train_writes_checkpoints_and_learns(trained_lrnnet):
    work_dir, result = trained_lrnnet
    for it in (2, 4):
        ckpt = _load(osp.join(work_dir, f'iter_{it}.pth'))
        assert ckpt['meta']['iter'] == it
    first = _load(osp.join(work_dir, 'iter_2.pth'))['state_dict']
    last = _load(osp.join(work_dir, 'iter_4.pth'))['state_dict']
    name = 'decode_head.conv_seg.weight'
    assert not torch.equal(first[name], last[name])
    assert 'mIoU' in result.stdout + result.stderr


def test_resume_continues_from_last_checkpoint(trained_lrnnet, synthetic_root):
    work_dir, _ = trained_lrnnet
    result = python_tool('tools/train.py', LRNNET_SYNTHETIC, '--work-dir', work_dir,
                         '--resume', '--cfg-options', *tiny_options(synthetic_root, 6))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert 'resumed' in out.lower()
    # the iteration counter continues at 5 instead of restarting at 1
    assert _iters_logged(out) == [5, 6]
    assert _load(osp.join(work_dir, 'iter_6.pth'))['meta']['iter'] == 6


def test_resume_without_checkpoint_starts_fresh_and_says_so(synthetic_root, tmp_path):
    result = python_tool('tools/train.py', LRNNET_SYNTHETIC, '--work-dir', str(tmp_path),
                         '--resume', '--cfg-options', *tiny_options(synthetic_root, 1, 1))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert 'no checkpoint' in out
    assert _iters_logged(out) == [1]


def test_mmseg_own_train_tool_runs_our_config(synthetic_root, tmp_path):
    result = python_tool(MMSEG_TRAIN, LRNNET_SYNTHETIC, '--work-dir', str(tmp_path),
                         '--cfg-options', *tiny_options(synthetic_root, 2))
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    # and resumes with it, through the plugin's safe-loading allow-list
    result = python_tool(MMSEG_TRAIN, LRNNET_SYNTHETIC, '--work-dir', str(tmp_path),
                         '--resume', '--cfg-options', *tiny_options(synthetic_root, 3))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert _iters_logged(out) == [3]


def test_dist_train_two_processes_on_cpu(synthetic_root, tmp_path):
    port = str(29500 + os.getpid() % 1000)
    result = run_tool(['bash', 'tools/dist_train.sh', LRNNET_SYNTHETIC, '2', '--work-dir',
                       str(tmp_path), '--cfg-options', *tiny_options(synthetic_root, 2, 2, 1)],
                      env=dict(PYTHON=sys.executable, PORT=port))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert 'Distributed training: True' in out
    assert 'gloo' in out.lower() or _load(osp.join(tmp_path, 'iter_2.pth'))
    assert _load(osp.join(tmp_path, 'iter_2.pth'))['meta']['iter'] == 2
