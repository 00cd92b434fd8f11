"""The Runner and DDP wrapper our configs select: CPU-only distributed runs, safe loading.

Both are opt-in through mmengine's own extension points, so importing ``lrseg_mm`` changes
nothing in torch or mmengine:

* ``runner_type = 'LrsegRunner'``: mmengine's ``Runner`` (the toolbox's ``tools/train.py``
  honours ``runner_type``), which on a machine without any accelerator initialises a gloo
  process group for ``--launcher pytorch`` before mmengine would ask for NCCL and a CUDA
  device, and loads every checkpoint with mmengine's types allow-listed and errors that
  name the file (:func:`~lrseg_mm.engine.checkpoint.checkpoint_errors_named`).
* ``model_wrapper_cfg = dict(type='CPUCapableDistributedDataParallel', ...)``: mmengine's
  ``MMDistributedDataParallel``, which also wraps a CPU model: ``torch.nn.SyncBatchNorm``
  layers, which refuse CPU tensors, become
  :class:`~lrseg_mm.engine.sync_bn.CPUSyncBatchNorm` (the same statistics over the global
  batch, all-reduced with gloo), and ``device_ids`` is dropped, as DDP requires for CPU
  modules. A model on CUDA is wrapped exactly as ``MMDistributedDataParallel`` wraps it.

Launches on CUDA, Ascend (NPU), Cambricon (MLU) or Moore Threads (MUSA) devices go through
mmengine unchanged.
"""
import atexit
import datetime
import os.path as osp
from typing import Dict, Optional

import torch.distributed as torch_dist
from mmengine.device import get_device
from mmengine.dist import is_distributed
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS, RUNNERS
from mmengine.runner import Runner

from .checkpoint import checkpoint_errors_named
from .sync_bn import convert_cpu_sync_batchnorm


# Both are registered in mmengine's root registries: mmengine looks them up there by name
# (`RUNNERS.build` before any default scope is set, `MODEL_WRAPPERS.get` in
# Runner.wrap_model), and a root registry does not search its children (mmseg's) without a
# scope prefix; mmseg's registries find them through their parent.
@RUNNERS.register_module()
class LrsegRunner(Runner):
    """mmengine's ``Runner`` with gloo on CPU-only machines and safe checkpoint loading.

    Differences from ``Runner``, everything else is inherited:

    * ``setup_env``: under ``launcher='pytorch'`` on a machine where mmengine finds no
      accelerator (``get_device() == 'cpu'``), the process group is initialised here with
      ``env_cfg.dist_cfg`` (``backend='nccl'``, the toolbox's default, becomes ``'gloo'``;
      ``timeout`` in seconds as mmengine takes it), and ``torch.cuda.set_device`` is not
      called. mmengine then finds the group initialised and skips its own ``init_dist``.
      The group is destroyed at interpreter exit (an ``atexit`` handler): a gloo group left
      to interpreter teardown can abort a finished run with SIGABRT.
    * ``load_checkpoint`` (also used by ``resume``): mmengine's checkpoint types are
      allow-listed for ``weights_only`` loading during the load only, and errors about a
      local file become ``UnsafeCheckpointError`` / ``CorruptCheckpointError`` naming it.
    * ``wrap_model``: with a ``model_wrapper_cfg``, its ``find_unused_parameters`` defaults
      to the config's top-level ``find_unused_parameters``, as mmengine's default wrapper
      does.
    """

    def setup_env(self, env_cfg: Dict) -> None:
        if self.distributed and not is_distributed() and self.launcher == 'pytorch' \
                and get_device() == 'cpu':
            dist_cfg = dict(env_cfg.get('dist_cfg', {}))
            backend = dist_cfg.pop('backend', 'nccl')
            if dist_cfg.pop('init_backend', 'torch') != 'torch':
                raise ValueError(
                    'env_cfg.dist_cfg.init_backend must be "torch" on a machine without '
                    f'an accelerator, got {env_cfg["dist_cfg"]["init_backend"]!r}')
            if dist_cfg.get('timeout') is not None:
                dist_cfg['timeout'] = datetime.timedelta(seconds=dist_cfg['timeout'])
            # NCCL needs GPUs; gloo runs the same collectives on CPUs
            torch_dist.init_process_group(backend='gloo' if backend == 'nccl' else backend,
                                          **dist_cfg)
            # gloo's threads must be joined while the interpreter is alive; torch leaves
            # that to the caller, and mmengine's runner never destroys its group
            atexit.register(destroy_process_group_if_initialised)
        super().setup_env(env_cfg)

    def load_checkpoint(self, filename: str, map_location='cpu', strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]):  # noqa: B006 (as Runner's)
        local = osp.expanduser(filename) if isinstance(filename, str) else filename
        with checkpoint_errors_named(local):
            return super().load_checkpoint(filename, map_location=map_location,
                                           strict=strict, revise_keys=revise_keys)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model):
        if model_wrapper_cfg is not None and self.distributed:
            model_wrapper_cfg = dict(model_wrapper_cfg)
            model_wrapper_cfg.setdefault('find_unused_parameters',
                                         self.cfg.get('find_unused_parameters', False))
        return super().wrap_model(model_wrapper_cfg, model)


def destroy_process_group_if_initialised() -> None:
    """Destroy the default process group, if there is one (safe to call twice)."""
    if torch_dist.is_initialized():
        torch_dist.destroy_process_group()


@MODEL_WRAPPERS.register_module()
class CPUCapableDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also wraps models on the CPU (gloo).

    A module whose parameters are all on the CPU gets its ``torch.nn.SyncBatchNorm`` layers
    replaced by :class:`~lrseg_mm.engine.sync_bn.CPUSyncBatchNorm` (sharing parameters and
    buffers) and is wrapped with ``device_ids=None`` and ``output_device=None``. Any other
    module is wrapped exactly as ``MMDistributedDataParallel`` wraps it.

    Args:
        module (nn.Module): The model to wrap.
        **kwargs: ``MMDistributedDataParallel`` / ``DistributedDataParallel`` arguments
            (``device_ids``, ``broadcast_buffers``, ``find_unused_parameters``, ...).
    """

    def __init__(self, module, **kwargs):
        if all(p.device.type == 'cpu' for p in module.parameters()):
            module = convert_cpu_sync_batchnorm(module)  # DDP rejects SyncBN on CPU
            kwargs['device_ids'] = None  # DDP rejects device_ids for CPU modules
            kwargs['output_device'] = None
        super().__init__(module=module, **kwargs)
