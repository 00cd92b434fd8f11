"""CPUAmpOptimWrapper: CPU mixed precision whose checkpoints resume under GPU --amp, and
tools/train.py's --amp."""

import pytest
import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper

from helpers import LRNNET_SYNTHETIC, load_tool
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


def _gpu_float16_wrapper(model):
    """mmengine's AmpOptimWrapper as GPU float16 --amp builds it, made on a CPU machine:
    its __init__ refuses without an accelerator, so the parts its load_state_dict uses are
    set by hand, with an enabled GradScaler as the float16 one."""
    wrapper = AmpOptimWrapper.__new__(AmpOptimWrapper)
    OptimWrapper.__init__(wrapper, optimizer=torch.optim.SGD(model.parameters(), lr=0.1))
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=512.)
    return wrapper


def test_bfloat16_cpu_checkpoint_resumes_under_gpu_float16():
    model, cpu_wrapper = _wrapper('bfloat16')
    with cpu_wrapper.optim_context(model):
        loss = model(torch.randn(3, 4)).float().pow(2).mean()
    cpu_wrapper.update_params(loss)  # SGD momentum-free: state is the param groups
    state = cpu_wrapper.state_dict()
    gpu_wrapper = _gpu_float16_wrapper(model)
    gpu_wrapper.load_state_dict(state)  # an empty scaler state would raise here
    assert gpu_wrapper.loss_scaler.get_scale() == 512.  # a fresh scaler, as configured
    assert gpu_wrapper.optimizer.param_groups[0]['lr'] == 0.1


def test_float16_state_keeps_its_scale_and_old_bfloat16_states_load():
    _, wrapper = _wrapper('float16', loss_scale=dict(init_scale=1024.))
    assert wrapper.state_dict()['loss_scaler']['scale'] == 1024.
    # a bfloat16 checkpoint written before the fix holds an empty 'loss_scaler'
    _, bf16 = _wrapper('bfloat16')
    old_state = dict(bf16.optimizer.state_dict(), loss_scaler={})
    _, fp16 = _wrapper('float16', loss_scale=dict(init_scale=64.))
    fp16.load_state_dict(old_state)
    assert fp16.loss_scaler.get_scale() == 64.


def _train_tool():
    return load_tool('tools/train.py')


def test_train_tool_amp_on_cpu(tmp_path):
    tool = _train_tool()
    cfg = tool.build_config(tool.parse_args([LRNNET_SYNTHETIC, '--amp', '--work-dir',
                                             str(tmp_path)]))
    expected = 'AmpOptimWrapper' if torch.cuda.is_available() else 'CPUAmpOptimWrapper'
    assert cfg.optim_wrapper.type == expected
