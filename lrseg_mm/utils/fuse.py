"""Fold eval-mode batch norm into the preceding convolution, for inference.

In eval mode BN is the per-channel affine map ``y = (x - mean) * g / sqrt(var + eps) + b``
with frozen statistics, so ``BN(conv(x))`` equals one convolution with weights
``W * s`` and bias ``(bias - mean) * s + b``, ``s = g / sqrt(var + eps)``: the same
function (up to float rounding) with one pass over the feature map fewer.

mmcv's ``fuse_conv_bn`` pairs a BN with the conv *registered* before it among a module's
children, which is wrong whenever registration order is not data flow: LRNNet's
``DownsamplerBlock`` registers ``conv, pool, bn`` and normalises the concatenation of the
conv and pool outputs, so the conv must not absorb that BN (mmcv's version fails there on a
shape mismatch). :func:`fuse_conv_bn` only fuses where the data flow is known:

* a ``ConvModule`` whose ``order`` has 'norm' right after 'conv';
* consecutive ``Conv2d`` -> ``BatchNorm2d`` entries of an ``nn.Sequential``;
* the toolbox's ResNet ``BasicBlock`` / ``Bottleneck`` (``convI`` -> ``normI``) and the
  stem of a ``ResNet`` without deep stem (``conv1`` -> ``norm1``), whose forwards apply
  each norm right after its conv (exact classes only, not subclasses that may differ):
  the backbones of ShelfNet and Light-Weight RefineNet;
* whatever the ``extra_fusers`` passed to :func:`fuse_conv_bn` know (the peer benchmark
  adds the toolbox's ERFNet and CGNet blocks, see ``benchmarks/peers.py``), with
  :func:`fuse_adjacent` and :func:`fuse_conv_bn_pair`'s ``start`` (a BN over a
  concatenation of convs) as building blocks.

The BN is replaced by ``nn.Identity`` so module paths stay valid. Only BNs with running
statistics and convolutions that are not transposed and whose output channels match the
BN's are fused; anything else is left alone.
"""
from typing import Callable, Optional, Sequence

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


def can_fuse(conv: nn.Module, bn: nn.Module, start: Optional[int] = None) -> bool:
    """Whether ``bn`` can be folded into ``conv`` (``start``: the conv feeds a channel slice
    of the BN from there; None: the BN's channels are exactly the conv's outputs)."""
    if not (isinstance(conv, nn.Conv2d) and isinstance(bn, _BatchNorm) and not bn.training
            and bn.track_running_stats and bn.running_mean is not None):
        return False
    if start is None:
        return bn.num_features == conv.out_channels
    return 0 <= start and start + conv.out_channels <= bn.num_features


@torch.no_grad()
def fuse_conv_bn_pair(conv: nn.Conv2d, bn: _BatchNorm,
                      start: Optional[int] = None) -> nn.Conv2d:
    """Fold ``bn`` (eval mode) into ``conv`` in place and return ``conv``.

    With ``start``, the conv's outputs are the BN's channels ``start`` to
    ``start + conv.out_channels`` (a BN over a concatenation of convs); without it the BN
    must have exactly the conv's output channels. The conv gains a bias if it had none. The
    folding is computed in float64 and stored in the conv's dtype.
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
    from mmcv.cnn import ConvModule
    if not isinstance(module, ConvModule) or not module.with_norm:
        return False
    order = list(module.order)
    if order.index('norm') != order.index('conv') + 1:
        return False
    if not can_fuse(module.conv, module.norm):
        return False
    fuse_conv_bn_pair(module.conv, module.norm)
    setattr(module, module.norm_name, nn.Identity())
    if getattr(module, 'efficient_conv_bn_eval_forward', None) is not None:
        module.efficient_conv_bn_eval_forward = None  # it would pass the Identity as a BN
    return True


def fuse_adjacent(container: nn.Module) -> int:
    """Fold BNs that directly follow a conv in a container whose forward runs its children
    in registration order (an ``nn.Sequential``, or a block known to do so).

    Returns:
        int: Number of BN layers folded (each replaced by ``nn.Identity``).
    """
    fused = 0
    names = list(container._modules)
    for first, second in zip(names, names[1:]):
        conv, bn = container._modules[first], container._modules[second]
        if can_fuse(conv, bn):
            fuse_conv_bn_pair(conv, bn)
            container._modules[second] = nn.Identity()
            fused += 1
    return fused


def _resnet_pairs(module: nn.Module):
    """(conv attribute, norm-name attribute) pairs of the toolbox's ResNet parts."""
    try:
        from mmseg.models.backbones.resnet import (BasicBlock, Bottleneck, ResNet, ResNetV1c,
                                                   ResNetV1d)
    except ImportError:
        return []
    if type(module) is BasicBlock:
        return [('conv1', 'norm1_name'), ('conv2', 'norm2_name')]
    if type(module) is Bottleneck:
        return [('conv1', 'norm1_name'), ('conv2', 'norm2_name'), ('conv3', 'norm3_name')]
    if type(module) in (ResNet, ResNetV1c, ResNetV1d) and not module.deep_stem:
        return [('conv1', 'norm1_name')]
    return []


def _fuse_named_pairs(module: nn.Module) -> int:
    fused = 0
    for conv_attr, norm_name_attr in _resnet_pairs(module):
        conv = getattr(module, conv_attr, None)
        norm_name = getattr(module, norm_name_attr, None)
        norm = getattr(module, norm_name, None) if norm_name else None
        if conv is not None and norm is not None and can_fuse(conv, norm):
            fuse_conv_bn_pair(conv, norm)
            setattr(module, norm_name, nn.Identity())
            fused += 1
    return fused


def fuse_conv_bn(model: nn.Module,
                 extra_fusers: Sequence[Callable[[nn.Module], int]] = ()) -> int:
    """Fold every eval-mode BN that directly follows a conv into it, in place.

    Args:
        model (nn.Module): The model, in eval mode (its BNs use running statistics).
        extra_fusers (Sequence[callable]): Functions called on every submodule, each
            folding what it knows about that module's data flow and returning how many BNs
            it folded. Default: ().

    Returns:
        int: Number of BN layers folded away.

    Raises:
        ValueError: If the model is in training mode, where BN uses batch statistics and
            cannot be folded.
    """
    if model.training:
        raise ValueError('fuse_conv_bn needs the model in eval mode (call model.eval()): '
                         'in training BN normalises with batch statistics')
    fused = 0
    for module in list(model.modules()):
        fused += _fuse_conv_module(module)
        if isinstance(module, nn.Sequential):
            fused += fuse_adjacent(module)
        fused += _fuse_named_pairs(module)
        for fuser in extra_fusers:
            fused += fuser(module)
    return fused
