from contextlib import contextmanager

import torch
from mmengine.optim import AmpOptimWrapper, OptimWrapper
from mmseg.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(AmpOptimWrapper):
    """Mixed-precision training on CPU: what ``--amp`` uses on machines without CUDA.

    mmengine's :class:`AmpOptimWrapper` refuses to start without an accelerator, and its
    autocast allows only bfloat16 on CPU. This wrapper autocasts with ``torch.autocast('cpu')``
    in ``dtype`` (bfloat16 or float16) and scales losses with ``torch.amp.GradScaler('cpu')``
    for float16 (bfloat16 has float32's range and needs no scaling). Everything else, state
    dicts included, is :class:`AmpOptimWrapper`'s, so checkpoints resume either way.

    Args:
        loss_scale (str | float | dict): ``'dynamic'``, a static scale or GradScaler keyword
            arguments; used for float16 only. Default: 'dynamic'.
        dtype (str | torch.dtype): ``'bfloat16'`` or ``'float16'``. Default: 'bfloat16'.
        **kwargs: :class:`OptimWrapper` arguments (``optimizer``, ``clip_grad``, ...).
    """

    cpu_dtypes = ('bfloat16', 'float16')

    def __init__(self, loss_scale='dynamic', dtype='bfloat16', **kwargs):
        OptimWrapper.__init__(self, **kwargs)  # skips AmpOptimWrapper's CUDA-only check
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).replace('torch.', '')
        if dtype not in self.cpu_dtypes:
            raise ValueError(f'CPUAmpOptimWrapper dtype must be one of {self.cpu_dtypes}, '
                             f'got {dtype!r}')
        self.cast_dtype = getattr(torch, dtype)
        enabled = self.cast_dtype == torch.float16
        self._scale_update_param = None
        if loss_scale == 'dynamic':
            self.loss_scaler = torch.amp.GradScaler('cpu', enabled=enabled)
        elif isinstance(loss_scale, float):
            self._scale_update_param = loss_scale
            self.loss_scaler = torch.amp.GradScaler('cpu', init_scale=loss_scale,
                                                    enabled=enabled)
        elif isinstance(loss_scale, dict):
            self.loss_scaler = torch.amp.GradScaler('cpu', enabled=enabled, **loss_scale)
        else:
            raise TypeError(f"loss_scale must be 'dynamic', a float or a dict, got "
                            f'{loss_scale!r}')

    @contextmanager
    def optim_context(self, model):
        with OptimWrapper.optim_context(self, model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield
