from .checkpoint import CorruptCheckpointError, UnsafeCheckpointError, load_local_checkpoint
from .compat import (allow_mmengine_checkpoints, apply_all, enable_cpu_distributed,
                     register_safe_checkpoint_loader)
from .optim_wrappers import CPUAmpOptimWrapper
from .rng_state_hook import RNGStateHook
from .sync_bn import CPUSyncBatchNorm, convert_cpu_sync_batchnorm

__all__ = [
    'CPUAmpOptimWrapper', 'CPUSyncBatchNorm', 'CorruptCheckpointError', 'RNGStateHook',
    'UnsafeCheckpointError', 'allow_mmengine_checkpoints', 'apply_all',
    'convert_cpu_sync_batchnorm', 'enable_cpu_distributed', 'load_local_checkpoint',
    'register_safe_checkpoint_loader'
]
