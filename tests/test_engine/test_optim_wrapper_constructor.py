"""NormBiasDecayOptimWrapperConstructor: ShelfNet-lw's parameter groups (lr x10 on the head,
weight decay on conv/linear weights only), checked group by group."""
import pytest
import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS

from lrseg_mm.engine import NormBiasDecayOptimWrapperConstructor

LR, WD = 0.01, 5e-4
OPTIM = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=LR, momentum=0.9,
                                                 weight_decay=WD))
PARAMWISE = dict(custom_keys={'decode_head': dict(lr_mult=10.)}, norm_decay_mult=0.,
                 bias_decay_mult=0.)


class Tiny(nn.Module):
    """A backbone and a head, each with a conv with bias, a BN and a Linear."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Conv2d(3, 4, 3, bias=True), nn.BatchNorm2d(4))
        self.decode_head = nn.Sequential(nn.Conv2d(4, 4, 1, bias=True), nn.SyncBatchNorm(4),
                                         nn.Linear(4, 2))


# (lr, weight_decay) the official ShelfNet-lw optimizer gives each parameter
# (BiSeNet's optimizer.py with ShelfNet's get_params): decay only on conv/linear weights,
# lr x10 on the head
EXPECTED = {
    'backbone.0.weight': (LR, WD),
    'backbone.0.bias': (LR, 0.),
    'backbone.1.weight': (LR, 0.),
    'backbone.1.bias': (LR, 0.),
    'decode_head.0.weight': (10 * LR, WD),
    'decode_head.0.bias': (10 * LR, 0.),
    'decode_head.1.weight': (10 * LR, 0.),
    'decode_head.1.bias': (10 * LR, 0.),
    'decode_head.2.weight': (10 * LR, WD),
    'decode_head.2.bias': (10 * LR, 0.),
}


def _groups(constructor_type, paramwise_cfg=PARAMWISE, model=None):
    model = model or Tiny()
    constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(
        dict(type=constructor_type, optim_wrapper_cfg=OPTIM, paramwise_cfg=paramwise_cfg))
    optimizer = constructor(model).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optimizer.param_groups:
        for p in group['params']:
            out[names[id(p)]] = (group['lr'], group['weight_decay'])
    return out


def test_official_shelfnet_lw_groups_exactly():
    groups = _groups('NormBiasDecayOptimWrapperConstructor')
    assert groups == EXPECTED
    # the two the issue names: a head bias and a backbone conv weight
    assert groups['decode_head.0.bias'] == (0.1, 0.)
    assert groups['backbone.0.weight'] == (0.01, 5e-4)


def test_mmengine_default_leaves_decay_on_the_head_norms_and_biases():
    """Why the constructor exists: with custom_keys, mmengine skips the norm/bias rules."""
    groups = _groups('DefaultOptimWrapperConstructor')
    assert groups['decode_head.0.bias'] == (10 * LR, WD)
    assert groups['decode_head.1.weight'] == (10 * LR, WD)
    assert groups['backbone.1.weight'] == (LR, 0.)  # outside the key the rules apply


def test_custom_decay_mult_multiplies_and_unmatched_params_are_mmengines():
    paramwise = dict(custom_keys={'decode_head': dict(lr_mult=10., decay_mult=2.)},
                     norm_decay_mult=0.5, bias_decay_mult=0.25)
    ours = _groups('NormBiasDecayOptimWrapperConstructor', paramwise)
    default = _groups('DefaultOptimWrapperConstructor', paramwise)
    assert ours['decode_head.0.weight'] == (10 * LR, 2 * WD)
    assert ours['decode_head.0.bias'] == (10 * LR, WD * 2 * 0.25)
    assert ours['decode_head.1.weight'] == (10 * LR, WD * 2 * 0.5)
    for name in ('backbone.0.weight', 'backbone.0.bias', 'backbone.1.weight'):
        assert ours[name] == default[name]
    # without norm/bias multipliers the constructor is mmengine's
    plain = dict(custom_keys={'decode_head': dict(lr_mult=10.)})
    assert _groups('NormBiasDecayOptimWrapperConstructor', plain) == \
        _groups('DefaultOptimWrapperConstructor', plain)


def test_subclass_and_registered():
    assert issubclass(NormBiasDecayOptimWrapperConstructor, DefaultOptimWrapperConstructor)
    assert OPTIM_WRAPPER_CONSTRUCTORS.get('NormBiasDecayOptimWrapperConstructor') is \
        NormBiasDecayOptimWrapperConstructor


@pytest.mark.parametrize('config', [
    'configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py',
    'configs/shelfnet/shelfnet34-lw_2xb7-80k_cityscapes-1024x1024.py'])
def test_shelfnet_lw_configs_give_the_official_groups(config):
    """On the built ShelfNet-lw model: every norm parameter and bias has no decay, every
    conv/linear weight has 5e-4, the head has lr 0.1 and the backbone 0.01."""
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper
    from mmseg.registry import MODELS
    from helpers import REPO

    cfg = Config.fromfile(f'{REPO}/{config}')
    cfg.model.backbone.init_cfg = None
    cfg.model.backbone.norm_cfg = cfg.model.decode_head.norm_cfg = dict(type='BN')
    model = MODELS.build(cfg.model)
    optimizer = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    setting = {id(p): (g['lr'], g['weight_decay'])
               for g in optimizer.param_groups for p in g['params']}
    modules = dict(model.named_modules())
    seen = 0
    for name, param in model.named_parameters():
        owner, attr = modules[name.rpartition('.')[0]], name.rpartition('.')[2]
        lr = 10 * LR if name.startswith('decode_head.') else LR
        if isinstance(owner, nn.modules.batchnorm._BatchNorm) or attr == 'bias':
            wd = 0.
        else:
            assert isinstance(owner, (nn.Conv2d, nn.Linear)), name
            wd = WD
        assert setting[id(param)] == (lr, wd), name
        seen += 1
    assert seen == sum(len(g['params']) for g in optimizer.param_groups)
