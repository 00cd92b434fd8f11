"""Training and checkpoint extensions our configs select; nothing is patched on import.

``configs/_base_/default_runtime.py`` opts in with ``runner_type='LrsegRunner'``,
``model_wrapper_cfg=dict(type='CPUCapableDistributedDataParallel', ...)`` and
``custom_hooks=[SafeCheckpointLoadingHook, RNGStateHook]``; ``tools/train.py --amp`` picks
``CPUAmpOptimWrapper`` on machines without CUDA.
"""
from .checkpoint import (CorruptCheckpointError, SafeCheckpointLoadingHook,
                         UnsafeCheckpointError, checkpoint_errors_named, explain_load_error,
                         load_local_checkpoint, safe_checkpoint_globals,
                         safe_checkpoint_loading)
from .optim_wrappers import CPUAmpOptimWrapper
from .optim_wrapper_constructor import NormBiasDecayOptimWrapperConstructor
from .rng_state_hook import RNGStateHook
from .run_config import build_runner, load_run_config
from .runner import CPUCapableDistributedDataParallel, LrsegRunner
from .sync_bn import CPUSyncBatchNorm, convert_cpu_sync_batchnorm

__all__ = [
    'CPUAmpOptimWrapper', 'CPUCapableDistributedDataParallel', 'CPUSyncBatchNorm',
    'CorruptCheckpointError', 'LrsegRunner', 'NormBiasDecayOptimWrapperConstructor',
    'RNGStateHook', 'SafeCheckpointLoadingHook',
    'UnsafeCheckpointError', 'checkpoint_errors_named', 'convert_cpu_sync_batchnorm',
    'build_runner', 'explain_load_error', 'load_local_checkpoint', 'load_run_config', 'safe_checkpoint_globals',
    'safe_checkpoint_loading'
]
