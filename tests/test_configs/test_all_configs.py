"""Every config in configs/ parses with custom_imports and builds its model."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from helpers import REPO, build_segmentor

CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                            recursive=True)
    if '_base_' not in p)


def test_configs_exist():
    assert len(CONFIGS) >= 6


@pytest.mark.parametrize('path', CONFIGS)
def test_config_parses_and_builds(path):
    cfg = Config.fromfile(osp.join(REPO, path))
    assert cfg.custom_imports == dict(imports=['lrseg_mm'], allow_failed_imports=False), \
        f'{path} must import lrseg_mm through custom_imports'
    for key in ('model', 'train_dataloader', 'train_cfg', 'optim_wrapper'):
        assert key in cfg, f'{path} lacks {key}'
    model = build_segmentor(path)
    assert sum(p.numel() for p in model.parameters()) > 0
