"""Fold eval-mode batch norm, a per-channel affine map, into the preceding convolution:
``BN(conv(x))`` is one conv with weights ``W * s`` and bias ``(bias - mean) * s + b``,
``s = g / sqrt(var + eps)``.

mmcv's ``fuse_conv_bn`` pairs a BN with the conv *registered* before it, wrong where that
is not data flow: LRNNet's ``DownsamplerBlock`` registers ``conv, pool, bn`` and normalises
``cat(conv, pool)`` (mmcv's version fails there). :func:`fuse_conv_bn` fuses only where the
data flow is known: a ``ConvModule`` with 'norm' right after 'conv'; ``Conv2d`` ->
``BatchNorm2d`` in an ``nn.Sequential``; the toolbox's ResNet blocks and stem (ShelfNet's
and RefineNet's backbones); and whatever ``extra_fusers`` know (``benchmarks/peers.py``:
ERFNet and CGNet blocks, from :func:`fuse_adjacent` and :func:`fuse_conv_bn_pair`'s
``start``). A fused BN becomes ``nn.Identity`` so module paths stay valid.
"""
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


def can_fuse(conv: nn.Module, bn: nn.Module, start: Optional[int] = None) -> bool:
    """Whether eval-mode ``bn`` can be folded into non-transposed ``conv`` (``start``: the
    conv feeds the BN's channels from there; None: exactly the conv's outputs)."""
    if not (isinstance(conv, nn.Conv2d) and isinstance(bn, _BatchNorm) and not bn.training
            and bn.track_running_stats and bn.running_mean is not None):
        return False
    if start is None:
        return bn.num_features == conv.out_channels
    return 0 <= start and start + conv.out_channels <= bn.num_features


@torch.no_grad()
def fuse_conv_bn_pair(conv: nn.Conv2d, bn: _BatchNorm,
                      start: Optional[int] = None) -> nn.Conv2d:
    """Fold ``bn`` (eval mode) into ``conv`` in place (in float64; a bias is added where
    there is none) and return ``conv``.

    Args:
        conv (nn.Conv2d): The convolution.
        bn (_BatchNorm): The BN after it.
        start (int, optional): The conv's outputs are the BN's channels ``start`` to
            ``start + conv.out_channels`` (a BN over a concatenation); None: all of them.
    """
    if not can_fuse(conv, bn, start):
        where = '' if start is None else f' at channel {start}'
        raise ValueError(f'cannot fuse {type(bn).__name__}({bn.num_features}) into '
                         f'{type(conv).__name__}({conv.out_channels} channels){where}')
    channels = slice(start or 0, (start or 0) + conv.out_channels)
    weight = conv.weight.double()
    mean = bn.running_mean[channels].double()
    var = bn.running_var[channels].double()
    gamma = bn.weight[channels].double() if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias[channels].double() if bn.bias is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + bn.eps)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(mean)
    conv.weight.copy_((weight * scale.reshape(-1, 1, 1, 1)).to(conv.weight.dtype))
    fused_bias = ((bias - mean) * scale + beta).to(conv.weight.dtype)
    if conv.bias is None:
        conv.bias = nn.Parameter(fused_bias, requires_grad=conv.weight.requires_grad)
    else:
        conv.bias.copy_(fused_bias)
    return conv


def _fuse_conv_module(module: nn.Module) -> bool:
    """Fold a ConvModule's norm into its conv where the norm directly follows it."""
    from mmcv.cnn import ConvModule
    if not (isinstance(module, ConvModule) and module.with_norm
            and list(module.order).index('norm') == list(module.order).index('conv') + 1
            and can_fuse(module.conv, module.norm)):
        return False
    fuse_conv_bn_pair(module.conv, module.norm)
    setattr(module, module.norm_name, nn.Identity())
    if getattr(module, 'efficient_conv_bn_eval_forward', None) is not None:
        module.efficient_conv_bn_eval_forward = None  # it would pass the Identity as a BN
    return True


def fuse_adjacent(container: nn.Module) -> int:
    """Fold the BNs that directly follow a conv in ``container``, whose forward runs its
    children in registration order (an ``nn.Sequential``, or a block known to); returns
    how many were folded."""
    fused = 0
    names = list(container._modules)
    for first, second in zip(names, names[1:]):
        conv, bn = container._modules[first], container._modules[second]
        if can_fuse(conv, bn):
            fuse_conv_bn_pair(conv, bn)
            container._modules[second] = nn.Identity()
            fused += 1
    return fused


def _fuse_resnet_parts(module: nn.Module) -> int:
    """Fold ``normI`` into ``convI`` in the toolbox's ResNet blocks and plain stem."""
    from mmseg.models.backbones.resnet import (BasicBlock, Bottleneck, ResNet, ResNetV1c,
                                               ResNetV1d)
    if type(module) in (ResNet, ResNetV1c, ResNetV1d):
        pairs = 0 if module.deep_stem else 1
    else:  # exact classes: a subclass's forward may differ
        pairs = {BasicBlock: 2, Bottleneck: 3}.get(type(module), 0)
    fused = 0
    for i in range(1, pairs + 1):
        conv, norm_name = getattr(module, f'conv{i}'), getattr(module, f'norm{i}_name')
        if can_fuse(conv, getattr(module, norm_name)):
            fuse_conv_bn_pair(conv, getattr(module, norm_name))
            setattr(module, norm_name, nn.Identity())
            fused += 1
    return fused


def fuse_conv_bn(model: nn.Module,
                 extra_fusers: Sequence[Callable[[nn.Module], int]] = ()) -> int:
    """Fold every eval-mode BN that directly follows a conv into it, in place; returns how
    many were folded.

    Args:
        model (nn.Module): The model, in eval mode (ValueError otherwise).
        extra_fusers (Sequence[callable]): Called on every submodule, each folds what it
            knows of that module's data flow and returns how many BNs. Default: ().
    """
    if model.training:
        raise ValueError('fuse_conv_bn needs the model in eval mode (call model.eval()): '
                         'in training BN normalises with batch statistics')
    fused = 0
    for module in list(model.modules()):
        fused += _fuse_conv_module(module)
        if isinstance(module, nn.Sequential):
            fused += fuse_adjacent(module)
        fused += _fuse_resnet_parts(module)
        for fuser in extra_fusers:
            fused += fuser(module)
    return fused
