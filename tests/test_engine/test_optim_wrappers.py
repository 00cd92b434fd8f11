"""CPUAmpOptimWrapper and tools/train.py's --amp and RNG-hook handling."""
import importlib.util
import os.path as osp

import pytest
import torch

from helpers import REPO, LRNNET_SYNTHETIC
from lrseg_mm.engine import CPUAmpOptimWrapper


def _wrapper(dtype, **kwargs):
    model = torch.nn.Linear(4, 2)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    return model, CPUAmpOptimWrapper(dtype=dtype, optimizer=opt, **kwargs)


@pytest.mark.parametrize('dtype, scaled', [('bfloat16', False), ('float16', True)])
def test_autocasts_and_scales(dtype, scaled):
    # a small initial scale: GradScaler's default 65536 overflows float16 on the first step
    # and skips it (by design)
    model, wrapper = _wrapper(dtype, loss_scale=dict(init_scale=16.))
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert out.dtype == getattr(torch, dtype)
    assert wrapper.loss_scaler.is_enabled() == scaled
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().pow(2).mean())
    assert not torch.equal(model.weight, before)


def test_state_dict_round_trip_keeps_the_loss_scale():
    _, wrapper = _wrapper('float16', loss_scale=dict(init_scale=1024.))
    state = wrapper.state_dict()
    _, other = _wrapper('float16')
    other.load_state_dict(state)
    assert other.loss_scaler.get_scale() == 1024.


def test_rejects_unsupported_dtype():
    with pytest.raises(ValueError, match='bfloat16.*float16.*float32'):
        _wrapper('float32')


def _train_tool():
    spec = importlib.util.spec_from_file_location('train_tool', osp.join(REPO, 'tools',
                                                                         'train.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_train_tool_amp_on_cpu_and_rng_hook_once(tmp_path):
    tool = _train_tool()
    cfg = tool.build_config(tool.parse_args([LRNNET_SYNTHETIC, '--amp', '--work-dir',
                                             str(tmp_path)]))
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'CPUAmpOptimWrapper'
    assert cfg.optim_wrapper.type == expected
    # the LRNNet schedule already lists the hook: it is not added twice
    assert [h['type'] for h in cfg.custom_hooks] == ['RNGStateHook']
