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
    for float16 (bfloat16 has float32's range and needs no scaling). Everything else is
    :class:`AmpOptimWrapper`'s; the state dict leaves out a disabled (bfloat16) scaler, so
    checkpoints resume either way, under CPU or GPU ``--amp``.

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

    def state_dict(self) -> dict:
        """The optimizer's state, plus ``'loss_scaler'`` when loss scaling is on (float16).

        A disabled GradScaler's state is empty, and mmengine's GPU ``AmpOptimWrapper``
        refuses to load an empty scaler state, so a bfloat16 checkpoint leaves the key out:
        it then resumes under GPU float16 ``--amp`` with a fresh scaler.
        """
        state_dict = OptimWrapper.state_dict(self)
        if self.loss_scaler.is_enabled():
            state_dict['loss_scaler'] = self.loss_scaler.state_dict()
        return state_dict

    def load_state_dict(self, state_dict: dict) -> None:
        """Load :meth:`state_dict`'s output, or ``AmpOptimWrapper``'s.

        An empty ``'loss_scaler'`` entry (a bfloat16 checkpoint written before
        :meth:`state_dict` left it out) is skipped, so the scaler starts fresh.
        """
        if not state_dict.get('loss_scaler', True):
            state_dict = {k: v for k, v in state_dict.items() if k != 'loss_scaler'}
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model):
        with OptimWrapper.optim_context(self, model), torch.autocast(
                'cpu', dtype=self.cast_dtype):
            yield
