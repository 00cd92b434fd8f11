"""An optimizer-wrapper constructor whose norm/bias decay rules also reach custom keys."""
from typing import List, Optional, Union

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor
from mmseg.registry import OPTIM_WRAPPER_CONSTRUCTORS
from torch.nn import GroupNorm, LayerNorm
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.instancenorm import _InstanceNorm

NORM_TYPES = (_BatchNorm, _InstanceNorm, GroupNorm, LayerNorm)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class NormBiasDecayOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """:class:`DefaultOptimWrapperConstructor` that applies ``norm_decay_mult`` and
    ``bias_decay_mult`` to the parameters matched by ``custom_keys`` as well.

    In mmengine, a parameter whose name matches a ``custom_keys`` entry gets that entry's
    ``lr_mult`` / ``decay_mult`` and *no other rule*, so ``custom_keys={'decode_head':
    dict(lr_mult=10.)}`` with ``norm_decay_mult=0.`` leaves weight decay on the head's norm
    layers and biases. The official ShelfNet-lw optimizer (``optimizer.py`` of
    https://github.com/CoinCheung/BiSeNet, with the ``get_params`` of
    ``ShelfNet18_realtime/shelfnet.py`` in https://github.com/juntang-zhuang/ShelfNet,
    branch ``citys_lw``) needs both: weight decay only on ``Conv2d`` / ``Linear`` weights,
    none on norm parameters and biases, and lr x10 on the decoder, ladder, laterals and
    classifiers. Here, after mmengine has built the groups, every parameter matched by a
    custom key gets

    * ``weight_decay = base_wd * decay_mult * norm_decay_mult`` if it belongs to a norm
      layer (BN, SyncBN, IN, GN, LN),
    * ``weight_decay = base_wd * decay_mult * bias_decay_mult`` if it is another module's
      ``bias``,

    (``decay_mult`` being the key's, default 1) and keeps its key's ``lr``. Parameters not
    matched by a key get exactly mmengine's treatment; so does everything when neither
    multiplier is set. Other rules (``dwconv_decay_mult``, ``flat_decay_mult``,
    ``bias_lr_mult``) still stop at custom keys, as in mmengine.

    Select it in a config with ``optim_wrapper=dict(constructor=
    'NormBiasDecayOptimWrapperConstructor', paramwise_cfg=dict(custom_keys=...,
    norm_decay_mult=0., bias_decay_mult=0.), ...)``.

    Args:
        optim_wrapper_cfg (dict): The optimizer wrapper config (``optimizer`` inside).
        paramwise_cfg (dict, optional): mmengine's parameter-wise options. Default: None.
    """

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        """mmengine's :meth:`DefaultOptimWrapperConstructor.add_params`, then (on the
        outermost call only) the norm/bias decay rules on the custom-key groups."""
        first = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix or self.base_wd is None:
            return  # a recursive call for a submodule: the outermost call fixes up
        norm_mult = self.paramwise_cfg.get('norm_decay_mult', None)
        bias_mult = self.paramwise_cfg.get('bias_decay_mult', None)
        if norm_mult is None and bias_mult is None:
            return
        custom_keys = self.paramwise_cfg.get('custom_keys', {})
        # the same priority as mmengine: alphabetical, then longest key first
        sorted_keys = sorted(sorted(custom_keys), key=len, reverse=True)
        # id(param) -> (the name mmengine matches keys against, owning module, attribute):
        # f'{prefix}.{name}', so '.weight' for a parameter of the root module itself
        owners = {}
        for mod_name, mod in module.named_modules():
            for name, param in mod.named_parameters(recurse=False):
                owners.setdefault(id(param), (f'{mod_name}.{name}', mod, name))
        for group in params[first:]:
            if len(group['params']) != 1 or id(group['params'][0]) not in owners:
                continue
            full, mod, name = owners[id(group['params'][0])]
            key = next((k for k in sorted_keys if k in full), None)
            if key is None:
                continue
            decay_mult = custom_keys[key].get('decay_mult', 1.)
            if isinstance(mod, NORM_TYPES):
                if norm_mult is not None:
                    group['weight_decay'] = self.base_wd * decay_mult * norm_mult
            elif name == 'bias' and bias_mult is not None:
                group['weight_decay'] = self.base_wd * decay_mult * bias_mult
