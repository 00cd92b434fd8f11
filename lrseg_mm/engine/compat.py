"""Fixes, applied when ``lrseg_mm`` is imported, for what the toolbox breaks on this stack.

* ``--resume`` under torch >= 2.6: ``torch.load`` defaults to ``weights_only=True`` and
  mmengine 0.10.7's checkpoints hold numpy arrays and mmengine objects (the message hub's
  ``HistoryBuffer``), so unpickling fails. We keep safe loading on and allow-list exactly
  those types with ``torch.serialization.add_safe_globals``; anything else in a checkpoint is
  still refused. mmengine's local-file loader is replaced by
  :func:`lrseg_mm.engine.checkpoint.load_local_checkpoint`, which always loads safely and
  turns torch's errors into ones that name the file (refused object, truncated file).
* ``--launcher pytorch`` on a machine without CUDA: mmengine calls
  ``torch.cuda.set_device`` and asks for NCCL, then wraps the model in DDP with
  ``device_ids``. Without CUDA we use gloo, skip ``set_device`` and let DDP wrap a CPU
  module (``device_ids=None``). ``torch.nn.SyncBatchNorm`` refuses CPU tensors, so before
  DDP wraps a CPU model its SyncBN layers become :class:`~lrseg_mm.engine.sync_bn.CPUSyncBatchNorm`
  (same statistics over the global batch, computed with gloo all-reduces). With CUDA nothing
  changes, so the same config uses NCCL and SyncBN on GPUs, gloo on CPUs.

Every patch is idempotent and only touches the narrow function it names.
"""
import functools
import os
import pickle

import numpy as np
import torch
import torch.distributed as torch_dist

from .sync_bn import convert_cpu_sync_batchnorm

_APPLIED = set()


def _history_buffer_getattr(obj, name):
    """``getattr`` restricted to what a pickled ``HistoryBuffer`` needs.

    A ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``.
    Allow-listing the real ``getattr`` would let a crafted checkpoint walk from any allowed
    object to ``os.system``; this stand-in answers only those lookups.
    """
    from mmengine.logging import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) in a checkpoint: only HistoryBuffer '
        'statistics methods may be looked up')


def safe_checkpoint_globals() -> list:
    """Types an mmengine checkpoint may hold beyond tensors and builtins."""
    from mmengine.logging import HistoryBuffer
    types = [HistoryBuffer, np.ndarray, np.dtype, np.core.multiarray._reconstruct,
             np.core.multiarray.scalar, (_history_buffer_getattr, 'builtins.getattr')]
    # numpy 2 pickles dtypes as instances of their own classes (numpy.dtypes.Float64DType).
    types += [type(np.dtype(t)) for t in (np.float64, np.float32, np.float16, np.int64,
                                          np.int32, np.int8, np.uint8, np.bool_)]
    return types


def allow_mmengine_checkpoints() -> None:
    """Allow-list the types of :func:`safe_checkpoint_globals` for ``weights_only`` loads."""
    if 'safe_globals' in _APPLIED:
        return
    torch.serialization.add_safe_globals(safe_checkpoint_globals())
    _APPLIED.add('safe_globals')


def register_safe_checkpoint_loader() -> None:
    """Read local checkpoints with :func:`~lrseg_mm.engine.checkpoint.load_local_checkpoint`."""
    if 'safe_loader' in _APPLIED:
        return
    from mmengine.runner.checkpoint import CheckpointLoader

    from .checkpoint import load_local_checkpoint
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)
    _APPLIED.add('safe_loader')


def _init_dist_pytorch_any_device(original, backend, init_backend='torch', **kwargs):
    if torch.cuda.is_available() or init_backend != 'torch':
        return original(backend, init_backend=init_backend, **kwargs)
    if backend == 'nccl':
        backend = 'gloo'  # NCCL needs GPUs; gloo runs the same collectives on CPUs
    torch_dist.init_process_group(backend=backend, **kwargs)


def enable_cpu_distributed() -> None:
    """Let ``--launcher pytorch``, DDP and SyncBN run on CPU-only machines (gloo)."""
    if 'cpu_dist' in _APPLIED:
        return
    from mmengine.dist import utils as dist_utils
    from mmengine.model.wrappers import distributed as mm_ddp

    dist_utils._init_dist_pytorch = functools.partial(
        _init_dist_pytorch_any_device, dist_utils._init_dist_pytorch)

    ddp_init = mm_ddp.MMDistributedDataParallel.__init__

    @functools.wraps(ddp_init)
    def ddp_init_any_device(self, module, *args, **kwargs):
        on_cpu = all(p.device.type == 'cpu' for p in module.parameters())
        if on_cpu:
            module = convert_cpu_sync_batchnorm(module)  # DDP rejects SyncBN on CPU
            if kwargs.get('device_ids') is not None:
                kwargs['device_ids'] = None  # DDP rejects device_ids for CPU modules
        ddp_init(self, module, *args, **kwargs)

    mm_ddp.MMDistributedDataParallel.__init__ = ddp_init_any_device
    _APPLIED.add('cpu_dist')


def apply_all() -> None:
    """Apply every fix; called on ``import lrseg_mm``. ``LRSEG_NO_COMPAT=1`` skips them."""
    if os.environ.get('LRSEG_NO_COMPAT') == '1':
        return
    allow_mmengine_checkpoints()
    register_safe_checkpoint_loader()
    enable_cpu_distributed()
