"""SizeCheckedEncoderDecoder: inputs below the model's minimum raise a ValueError stating it,
and every config declares its model's true minimum."""
import glob
import json
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from helpers import LRNNET_SYNTHETIC, REPO, build_segmentor


@pytest.fixture(scope='module')
def lrnnet():
    return build_segmentor(LRNNET_SYNTHETIC).eval()


def test_below_minimum_raises_in_every_mode(lrnnet):
    from mmseg.structures import SegDataSample
    with pytest.raises(ValueError, match=r'LRNNet \+ SVNHead needs inputs of at least 8x8 '
                       r'pixels .* got 7x64'):
        lrnnet._forward(torch.randn(1, 3, 7, 64))
    meta = dict(img_shape=(64, 5), ori_shape=(64, 5), pad_shape=(64, 5))
    with pytest.raises(ValueError, match='got 64x5'):
        lrnnet.predict(torch.randn(1, 3, 64, 5), [SegDataSample(metainfo=meta)])
    assert lrnnet._forward(torch.randn(1, 3, 8, 8)).shape[-2:] == (1, 1)


def test_skipped_while_tracing(lrnnet):
    class Logits(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model._forward(x)

    with torch.no_grad():
        traced = torch.jit.trace(Logits(lrnnet), torch.randn(1, 3, 4, 4), check_trace=False)
    assert traced(torch.randn(1, 3, 4, 4)).shape[-2:] == (1, 1)


@pytest.mark.parametrize('value', [0, (8, ), (8, 0), -1])
def test_bad_minimum(value):
    cfg = Config.fromfile(osp.join(REPO, LRNNET_SYNTHETIC)).model
    cfg.min_input_size = value
    with pytest.raises(ValueError, match='min_input_size must be'):
        MODELS.build(cfg)


def test_every_config_declares_the_deepest_feature_stride():
    """Configs that set a backbone or a minimum themselves (the others inherit both from a
    config checked here or in the reliability suite): ``min_input_size`` must be the stride
    of the deepest encoder map. One config per distinct encoder (its depth aside)."""
    encoders = {}
    for path in sorted(glob.glob(osp.join(REPO, 'configs', '*', '*.py'))):
        text = open(path).read()
        if '_base_' in path or ('backbone' not in text and 'min_input_size' not in text):
            continue
        model = Config.fromfile(path).model
        if model.type != 'SizeCheckedEncoderDecoder':
            continue
        backbone = model.backbone.to_dict()
        key = json.dumps([{k: v for k, v in backbone.items()
                           if k not in ('depth', 'init_cfg', 'pretrained')},
                          model.get('neck'), model.min_input_size], sort_keys=True, default=str)
        encoders.setdefault(key, (osp.relpath(path, REPO), model))
    assert len(encoders) >= 5
    wrong = []
    for path, model in encoders.values():
        backbone = dict(model.backbone, init_cfg=None)
        backbone.pop('pretrained', None)
        encoder = MODELS.build(backbone)
        encoder.eval()  # not chained: some toolbox backbones' train() returns None
        minimum = model.min_input_size
        with torch.no_grad():
            feats = encoder(torch.randn(1, 3, 4 * minimum, 4 * minimum))
        stride = 4 * minimum // min(f.shape[-1] for f in feats)
        if stride != minimum:
            wrong.append(f'{path}: min_input_size={minimum}, encoder stride {stride}')
    assert not wrong, wrong
