"""Bad input: clear errors, nothing silently dropped.

Odd and tiny input sizes for every model family, unknown arguments for every module the plugin
registers, and broken dataset folders (missing, corrupt, out-of-range files) read the way
training reads them.
"""
import glob
import itertools
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner
from mmseg.structures import SegDataSample

from helpers import REPO, build_segmentor
from reliability_helpers import (FAMILIES, family_params, output, train, train_options)

_models = {}


def _model(family):
    if family not in _models:
        _models[family] = build_segmentor(FAMILIES[family]['config']).eval()
    return _models[family]


def _predict(model, h, w):
    meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w))
    with torch.no_grad():
        return model.predict(torch.randn(1, 3, h, w), [SegDataSample(metainfo=meta)])[0]


@pytest.mark.parametrize('family', family_params())
def test_odd_sizes_give_logits_at_input_size(family):
    model = _model(family)
    for h, w in [(361, 481), (250, 250)]:
        out = _predict(model, h, w)
        assert out.seg_logits.data.shape == (model.decode_head.out_channels, h, w)
        assert out.pred_sem_seg.data.shape == (1, h, w)


@pytest.mark.parametrize('family', family_params())
def test_input_below_minimum_raises_value_error_stating_it(family):
    model, minimum = _model(family), FAMILIES[family]['min_input_size']
    message = f'at least {minimum}x{minimum} pixels'
    for h, w in [(minimum - 1, 4 * minimum), (4 * minimum, minimum - 1)]:
        with pytest.raises(ValueError, match=message):
            model._forward(torch.randn(1, 3, h, w))
    with pytest.raises(ValueError, match=message):  # the inference path, too
        _predict(model, minimum - 1, minimum - 1)
    out = _predict(model, minimum, minimum)  # the minimum itself works
    assert out.seg_logits.data.shape[-2:] == (minimum, minimum)


@pytest.mark.parametrize('family', family_params())
def test_declared_minimum_is_the_deepest_feature_stride(family):
    model, minimum = _model(family), FAMILIES[family]['min_input_size']
    assert model.min_input_size == (minimum, minimum)
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(1, 3, 4 * minimum, 4 * minimum))
    assert min(f.shape[-1] for f in feats) == 4  # 4 * minimum / stride


# ---------------------------------------------------------------- unknown arguments

def _our_registered_classes():
    """(registry, name) of every class lrseg_mm registers in mmseg's registries."""
    from mmseg import registry
    found = []
    for reg_name in ('MODELS', 'DATASETS', 'TRANSFORMS', 'HOOKS', 'OPTIM_WRAPPERS'):
        for name, cls in getattr(registry, reg_name).module_dict.items():
            if cls.__module__.startswith('lrseg_mm.'):
                found.append(pytest.param(reg_name, name, id=f'{reg_name}.{name}'))
    return found


def _config_examples(paths):
    """The first config dict of every registered type found in ``paths``."""
    examples = {}

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get('type'), str):
                examples.setdefault(node['type'], dict(node))
            for value in node.values():
                walk(value)
        elif isinstance(node, (list, tuple)):
            for value in node:
                walk(value)

    for path in paths:
        walk(Config.fromfile(path).to_dict())
    return examples


def _example(name):
    """A config of type ``name``: from _EXTRA_EXAMPLES, the family configs and the CamVid
    one (fast), else from every config in the repo."""
    if name in _EXTRA_EXAMPLES:
        return _EXTRA_EXAMPLES[name]
    if not _EXAMPLES:
        quick = [f['config'] for f in FAMILIES.values()]
        quick.append('configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py')
        _EXAMPLES.append(_config_examples(
            osp.join(REPO, p) for p in quick if osp.isfile(osp.join(REPO, p))))
    if name not in _EXAMPLES[0] and len(_EXAMPLES) == 1:
        _EXAMPLES.append(_config_examples(
            p for p in sorted(glob.glob(osp.join(REPO, 'configs', '**', '*.py'),
                                        recursive=True)) if '_base_' not in p))
    return _EXAMPLES[-1].get(name)


_EXAMPLES = []


# Types that appear in no config, with a minimal valid config.
_EXTRA_EXAMPLES = {
    'CPUAmpOptimWrapper': dict(type='CPUAmpOptimWrapper'),
    # the argument check comes before the graph file is read
    'BackendSegmentor': dict(type='BackendSegmentor', model_file='missing.onnx', num_classes=19),
    'SVNDiagnosticsHook': dict(type='SVNDiagnosticsHook'),
}


@pytest.mark.parametrize('registry_name, name', _our_registered_classes())
def test_unknown_argument_fails_at_build_naming_it(registry_name, name):
    from mmseg import registry
    example = _example(name)
    assert example is not None, f'no config uses {name}; add an example to _EXTRA_EXAMPLES'
    cfg = dict(example)
    for key in ('init_cfg', 'pretrained'):  # no downloads
        cfg.pop(key, None)
    if isinstance(cfg.get('backbone'), dict):
        cfg['backbone'] = dict(cfg['backbone'], init_cfg=None)
    if registry_name == 'OPTIM_WRAPPERS':  # built around an optimizer object
        cfg['optimizer'] = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
    reg = getattr(registry, registry_name)
    with pytest.raises(TypeError, match='definitely_not_an_argument'):
        reg.build(dict(cfg, definitely_not_an_argument=1))


# ---------------------------------------------------------------- broken dataset folders

LRNNET = FAMILIES['lrnnet']['config']
_LABEL = 'gtFine/train/synth/synth_000003_000019_gtFine_labelTrainIds.png'
_IMAGE = 'leftImg8bit/train/synth/synth_000003_000019_leftImg8bit.png'


def _half(path):
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])


def _label_with(value, dtype=np.uint8, channels=1):
    def write(path):
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED).astype(dtype)
        label[5:9, 5:9] = value
        if channels == 3:
            label = np.repeat(label[..., None], 3, axis=2)
        cv2.imwrite(path, label)
    return write


# fault -> (file, how to break it, exception type, words the message must contain). A missing
# image is not among them: the dataset is the list of images found, so there is no sample.
FAULTS = {
    'missing label': (_LABEL, os.remove, FileNotFoundError, 'is missing'),
    'truncated label png': (_LABEL, _half, ValueError, 'cannot be decoded'),
    'empty label file': (_LABEL, lambda p: open(p, 'wb').close(), ValueError,
                         'cannot be decoded'),
    'label id 19 of 19 classes': (_LABEL, _label_with(19), ValueError,
                                  r'class ids \[19\] outside 0\.\.18'),
    '16-bit label id 300': (_LABEL, _label_with(300, np.uint16), ValueError,
                            'must fit in 0..255'),
    'colour label': (_LABEL, _label_with(1, channels=3), ValueError, 'single-channel'),
    'truncated image png': (_IMAGE, _half, ValueError, 'cannot be decoded'),
    'empty image file': (_IMAGE, lambda p: open(p, 'wb').close(), ValueError,
                         'cannot be decoded'),
}


def _broken_copy(synthetic_root, tmp_path, fault):
    root = str(tmp_path / 'data')
    shutil.copytree(synthetic_root, root)
    relpath, breaker, _, _ = FAULTS[fault]
    breaker(osp.join(root, relpath))
    return root, osp.join(root, relpath)


@pytest.mark.parametrize('fault', list(FAULTS))
def test_broken_dataset_file_fails_naming_file_and_problem(fault, synthetic_root, tmp_path):
    root, broken = _broken_copy(synthetic_root, tmp_path, fault)
    cfg = Config.fromfile(osp.join(REPO, LRNNET))
    loader_cfg = cfg.train_dataloader
    loader_cfg.dataset.data_root = root
    loader_cfg.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    _, _, error, words = FAULTS[fault]
    # 4 batches of 2 cover the 8 training scenes once: the broken one is met on the way
    with pytest.raises(error, match=words) as info:
        for _ in itertools.islice(loader, 4):
            pass
    assert broken in str(info.value)


@pytest.mark.parametrize('family', ['lrnnet'])
def test_training_with_broken_label_stops_naming_it_and_does_not_hang(
        family, synthetic_root, tmp_path):
    """Through tools/train.py with 2 dataloader workers: the worker's error reaches the
    main process, which exits non-zero within the timeout."""
    root, broken = _broken_copy(synthetic_root, tmp_path, 'label id 19 of 19 classes')
    options = train_options(family, root, 8, ckpt_interval=8, crop=(64, 64))
    options += ['train_dataloader.num_workers=2']
    result = train(FAMILIES[family]['config'], tmp_path / 'work', options, timeout=180)
    out = output(result)
    assert result.returncode != 0
    assert broken in out and 'outside 0..18' in out
    assert 'DataLoader worker' in out  # raised in a worker, passed on
    assert not (tmp_path / 'work' / 'iter_8.pth').exists()
