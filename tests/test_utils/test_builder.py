"""lrseg_mm.utils.builder: configs -> models without pretrained weights or SyncBN."""
import pytest
import torch.nn as nn

from lrseg_mm.utils import build_segmentor_from_config, replace_sync_bn, strip_pretrained
from lrseg_mm.utils.builder import resolve_config_path

LRNNET = 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'


def test_strip_pretrained_at_any_depth():
    cfg = dict(pretrained='open-mmlab://resnet50_v1c',
               backbone=dict(backbone_cfg=dict(init_cfg=dict(type='Pretrained', checkpoint='x')),
                             init_cfg=[dict(type='Kaiming'), dict(type='Pretrained')]))
    strip_pretrained(cfg)
    assert 'pretrained' not in cfg
    assert cfg['backbone']['backbone_cfg']['init_cfg'] is None
    assert cfg['backbone']['init_cfg'] == [dict(type='Kaiming')]


def test_replace_sync_bn_at_any_depth():
    cfg = dict(norm_cfg=dict(type='SyncBN'), head=[dict(norm_cfg=dict(type='SyncBN')),
                                                   dict(norm_cfg=dict(type='GN'))])
    replace_sync_bn(cfg)
    assert cfg['norm_cfg']['type'] == 'BN' and cfg['head'][0]['norm_cfg']['type'] == 'BN'
    assert cfg['head'][1]['norm_cfg']['type'] == 'GN'


def test_resolves_toolbox_configs_and_names_missing_files():
    assert resolve_config_path('mmseg::erfnet/erfnet_fcn_4xb4-160k_cityscapes-512x1024.py'
                               ).endswith('.mim/configs/erfnet/'
                                          'erfnet_fcn_4xb4-160k_cityscapes-512x1024.py')
    with pytest.raises(FileNotFoundError, match='no_such.py'):
        resolve_config_path('configs/no_such.py')


def test_builds_lrnnet_with_plain_bn():
    model = build_segmentor_from_config(LRNNET, eval_mode=True)
    assert not model.training
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in model.modules())
    # LRNNet encoder 635,375 (tests/test_models/test_backbones/test_lrnnet.py) + SVN head
    # 46,067 (SVN block 8,512 + 3x3 conv 128->32 with BN 36,928 + conv_seg 32->19 627).
    assert sum(p.numel() for p in model.parameters()) == 681_442


def test_builds_toolbox_model_without_downloading():
    # BiSeNetV1's config asks for ImageNet weights in backbone.backbone_cfg.init_cfg.
    model = build_segmentor_from_config(
        'mmseg::bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024.py',
        drop_auxiliary_heads=True)
    assert not hasattr(model, 'auxiliary_head') or model.auxiliary_head is None
