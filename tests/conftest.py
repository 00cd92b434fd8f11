import os
import os.path as osp
import sys

# Spin-waiting OpenMP threads slow everything down many times on a busy 2-core machine.
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

import pytest  # noqa: E402
import torch  # noqa: E402

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.join(REPO, "tests"))

import lrseg_mm  # noqa: E402,F401
from mmseg.utils import register_all_modules  # noqa: E402

register_all_modules(init_default_scope=True)

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """A small synthetic Cityscapes-layout dataset shared by the whole session."""
    from lrseg_mm.datasets import generate_synthetic_cityscapes
    root = tmp_path_factory.mktemp('synthetic_cityscapes')
    return str(generate_synthetic_cityscapes(str(root), num_train=8, num_val=4, size=(64, 128)))


@pytest.fixture(scope='session')
def trained_lrnnet(synthetic_root, tmp_path_factory):
    """(work_dir, completed process) of a 4-iteration tools/train.py run of the demo config,
    checkpoints at iterations 2 and 4."""
    from helpers import LRNNET_SYNTHETIC, python_tool, tiny_options
    work_dir = str(tmp_path_factory.mktemp('train'))
    result = python_tool('tools/train.py', LRNNET_SYNTHETIC, '--work-dir', work_dir,
                         '--cfg-options', *tiny_options(synthetic_root, 4))
    assert result.returncode == 0, result.stderr[-3000:]
    return work_dir, result
