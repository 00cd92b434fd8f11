"""lrseg_mm.apis.load_segmentor: the one way tools, benchmarks and tests build models."""
import os.path as osp

import numpy as np
import pytest
import torch
import torch.nn as nn

from helpers import LRNNET_SYNTHETIC, REPO
from lrseg_mm.apis import load_segmentor, resolve_config_path
from lrseg_mm.engine import UnsafeCheckpointError

LRNNET = osp.join(REPO, 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py')


def test_builds_lrnnet_with_plain_bn_in_eval_mode():
    model = load_segmentor(LRNNET)
    assert not model.training
    # the config asks for SyncBN, which needs a process group: reverted to BN
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    # LRNNet encoder 635,375 (tests/test_models/test_backbones/test_lrnnet.py) + SVN head
    # 46,067 (SVN block 8,512 + 3x3 conv 128->32 with BN 36,928 + conv_seg 32->19 627).
    assert sum(p.numel() for p in model.parameters()) == 681_442


def test_builds_toolbox_model_without_downloading():
    # BiSeNetV1's config asks for ImageNet weights in backbone.backbone_cfg.init_cfg;
    # init_model runs no weight initialisation, so nothing is fetched
    model = load_segmentor(
        'mmseg::bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024.py',
        drop_auxiliary_heads=True)
    assert not getattr(model, 'with_auxiliary_head', False)


def test_resolves_toolbox_configs_and_names_missing_files(tmp_path):
    assert resolve_config_path('mmseg::erfnet/erfnet_fcn_4xb4-160k_cityscapes-512x1024.py'
                               ).endswith('.mim/configs/erfnet/'
                                          'erfnet_fcn_4xb4-160k_cityscapes-512x1024.py')
    with pytest.raises(FileNotFoundError, match='no_such.py'):
        load_segmentor('configs/no_such.py')
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_segmentor(LRNNET, str(tmp_path / 'nope.pth'))


def test_mmengine_checkpoint_loads_and_pickled_code_is_refused(tmp_path):
    from mmengine.logging import HistoryBuffer
    model = load_segmentor(osp.join(REPO, LRNNET_SYNTHETIC))
    state = {k: torch.full_like(v, 0.5) if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    buffer = HistoryBuffer()
    buffer.update(1.0)
    good = tmp_path / 'good.pth'
    meta = dict(dataset_meta=dict(classes=('a', 'b'), palette=[[0, 0, 0], [9, 9, 9]]),
                seed=np.int64(0))
    torch.save(dict(meta=meta, state_dict=state,
                    message_hub=dict(log_scalars=dict(loss=buffer))), good)
    loaded = load_segmentor(osp.join(REPO, LRNNET_SYNTHETIC), str(good))
    assert all(torch.equal(v, state[k]) for k, v in loaded.state_dict().items())
    assert loaded.dataset_meta['classes'] == ('a', 'b')

    class RunsCode:
        def __reduce__(self):
            return (print, ('pwned', ))

    evil = tmp_path / 'evil.pth'
    torch.save(dict(meta=meta, state_dict=state, x=RunsCode()), evil)
    with pytest.raises(UnsafeCheckpointError, match=f'{evil}.*builtins.print'):
        load_segmentor(osp.join(REPO, LRNNET_SYNTHETIC), str(evil))


def test_toolbox_warnings_come_through(tmp_path):
    # a checkpoint without class names: mmseg warns that it guesses them (and the palette)
    # from the number of classes; load_segmentor must not hide that
    model = load_segmentor(osp.join(REPO, LRNNET_SYNTHETIC))
    path = tmp_path / 'no_meta.pth'
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    with pytest.warns(UserWarning, match='dataset_meta or class names are not saved'):
        load_segmentor(osp.join(REPO, LRNNET_SYNTHETIC), str(path))
