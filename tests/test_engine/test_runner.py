"""LrsegRunner and CPUCapableDistributedDataParallel: what our configs select."""
import os
from unittest import mock

import pytest
import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS as ROOT_MODEL_WRAPPERS
from mmengine.registry import RUNNERS
from mmseg.registry import MODEL_WRAPPERS

from helpers import LRNNET_SYNTHETIC, REPO
from lrseg_mm.engine import (CPUCapableDistributedDataParallel, CPUSyncBatchNorm,
                             LrsegRunner)


def test_family_configs_select_the_runner_wrapper_and_hooks():
    cfg = Config.fromfile(os.path.join(REPO, LRNNET_SYNTHETIC))
    assert RUNNERS.get(cfg.runner_type) is LrsegRunner
    # looked up by name in mmengine's registries, as Runner.wrap_model does
    assert ROOT_MODEL_WRAPPERS.get(cfg.model_wrapper_cfg.type) \
        is CPUCapableDistributedDataParallel
    assert [h['type'] for h in cfg.custom_hooks] == ['SafeCheckpointLoadingHook',
                                                    'RNGStateHook']


@pytest.fixture
def one_process_group():
    dist.init_process_group('gloo', store=dist.HashStore(), rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_wrapper_wraps_a_cpu_model_with_sync_bn(one_process_group):
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 1), torch.nn.SyncBatchNorm(4))
    wrapper = MODEL_WRAPPERS.build(dict(type='CPUCapableDistributedDataParallel',
                                        module=model, device_ids=[0]))
    assert wrapper.device_ids is None
    assert isinstance(wrapper.module[1], CPUSyncBatchNorm)
    # mmengine's own wrapper refuses the same CPU model (DDP takes no device_ids for it)
    with pytest.raises(ValueError, match='device_ids'):
        MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=[0])


def test_wrapper_leaves_accelerator_models_to_mmengine():
    # a module on another device: the arguments reach MMDistributedDataParallel unchanged
    model = torch.nn.Linear(2, 2, device='meta')
    with mock.patch.object(MMDistributedDataParallel, '__init__',
                           return_value=None) as ddp_init:
        CPUCapableDistributedDataParallel(model, device_ids=[3], broadcast_buffers=False)
    ddp_init.assert_called_once_with(module=model, device_ids=[3], broadcast_buffers=False)


def _setup_env(launcher, device, dist_cfg, exit_handlers=None):
    """Run LrsegRunner.setup_env alone (no model, no data) under a faked device; the
    functions it registers with atexit are appended to ``exit_handlers``."""
    runner = LrsegRunner.__new__(LrsegRunner)
    runner._launcher, runner._distributed = launcher, launcher != 'none'
    handlers = [] if exit_handlers is None else exit_handlers
    with mock.patch('lrseg_mm.engine.runner.get_device', return_value=device), \
            mock.patch('lrseg_mm.engine.runner.torch_dist.init_process_group') as init, \
            mock.patch('lrseg_mm.engine.runner.atexit.register', handlers.append), \
            mock.patch('mmengine.runner.Runner.setup_env') as toolbox_setup_env:
        runner.setup_env(dict(dist_cfg=dist_cfg))
    toolbox_setup_env.assert_called_once()
    return init


def test_cpu_only_pytorch_launch_initialises_gloo():
    init = _setup_env('pytorch', 'cpu', dict(backend='nccl', timeout=60))
    init.assert_called_once()
    assert init.call_args.kwargs['backend'] == 'gloo'
    assert init.call_args.kwargs['timeout'].total_seconds() == 60


def test_the_gloo_group_it_initialises_is_destroyed_at_exit():
    # a gloo group left to interpreter teardown aborted a finished 2-process run (SIGABRT)
    handlers = []
    _setup_env('pytorch', 'cpu', dict(backend='nccl'), handlers)
    assert len(handlers) == 1
    dist.init_process_group('gloo', store=dist.HashStore(), rank=0, world_size=1)
    handlers[0]()
    assert not dist.is_initialized()
    handlers[0]()  # a group the run destroyed itself: nothing left to do


@pytest.mark.parametrize('device', ['cuda', 'npu', 'mlu', 'musa'])
def test_accelerator_launches_are_left_to_mmengine(device):
    handlers = []
    assert not _setup_env('pytorch', device, dict(backend='nccl'), handlers).called
    assert handlers == []


def test_non_distributed_runs_initialise_nothing():
    assert not _setup_env('none', 'cpu', dict(backend='nccl')).called
