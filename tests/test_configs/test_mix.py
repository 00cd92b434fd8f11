"""Every pair in configs/mix (our heads on toolbox backbones, toolbox heads on ours) builds
and trains two iterations through MMEngine's Runner on the synthetic Cityscapes layout."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from helpers import REPO

MIX_CONFIGS = sorted(
    osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'configs', 'mix', '*.py')))
CROP = (32, 64)  # a quarter of the synthetic images; 1/32 features are then 1x2


@pytest.fixture(autouse=True, scope='module')
def single_thread():
    """One intra-op thread: these models are tiny, and on a busy 2-core machine a second
    OpenMP thread mostly spin-waits (about 3x the CPU time for this file)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny_runner_config(path, data_root, work_dir, max_iters=2):
    """The config with pretrained weights off, tiny batches and no validation/checkpoints."""
    cfg = Config.fromfile(osp.join(REPO, path))
    cfg.model.pretrained = None
    init_cfg = cfg.model.backbone.get('init_cfg', None)
    if init_cfg and init_cfg.get('type') == 'Pretrained':
        cfg.model.backbone.init_cfg = None
    cfg.model.data_preprocessor.size = CROP
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = data_root
    cfg.train_dataloader.dataset.pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations'),
        dict(type='RandomCrop', crop_size=CROP),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackSegInputs')
    ]
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10**6)
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.work_dir = str(work_dir)
    cfg.log_level = 'WARNING'
    cfg.randomness = dict(seed=0)
    return cfg


def test_mix_covers_every_family_pairing():
    names = [osp.basename(p) for p in MIX_CONFIGS]
    # SVNHead on five toolbox backbones, and LRNNet under two toolbox heads
    for backbone in ('_r18-d8_', '_mobilenet-v2-d8_', '_mobilenet-v3-d8_', '_stdc1_',
                     '_bisenetv2_'):
        assert any(n.startswith('svnhead' + backbone) for n in names), backbone
    for head in ('fcn_lrnnet', 'deeplabv3_lrnnet', 'fcn_mobilenet-v2-lw'):
        assert any(n.startswith(head) for n in names), head


@pytest.mark.parametrize('path', MIX_CONFIGS)
def test_mix_pair_trains_two_iterations(path, synthetic_root, tmp_path):
    cfg = tiny_runner_config(path, synthetic_root, tmp_path)
    assert cfg.custom_imports == dict(imports=['lrseg_mm'], allow_failed_imports=False)
    runner = Runner.from_cfg(cfg)
    head = runner.model.decode_head
    assert type(head).__name__ == Config.fromfile(osp.join(REPO, path)).model.decode_head.type
    before = head.conv_seg.weight.detach().clone()
    runner.train()
    assert runner.iter == 2
    loss = runner.message_hub.get_scalar('train/loss').current()
    assert torch.isfinite(torch.tensor(loss)) and loss > 0
    # the optimiser stepped the head's classifier
    assert not torch.equal(before, head.conv_seg.weight.detach())
