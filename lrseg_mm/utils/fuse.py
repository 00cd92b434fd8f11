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
* consecutive ``Conv2d`` -> ``BatchNorm2d`` entries of an ``nn.Sequential``.

The BN is replaced by ``nn.Identity`` so module paths stay valid. Only BNs with running
statistics and convolutions that are not transposed and whose output channels match the
BN's are fused; anything else is left alone.
"""
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm


def _fusable(conv: nn.Module, bn: nn.Module) -> bool:
    return (isinstance(conv, nn.Conv2d) and not isinstance(conv, nn.ConvTranspose2d)
            and isinstance(bn, _BatchNorm) and not bn.training and bn.track_running_stats
            and bn.running_mean is not None and bn.num_features == conv.out_channels)


@torch.no_grad()
def fuse_conv_bn_pair(conv: nn.Conv2d, bn: _BatchNorm) -> nn.Conv2d:
    """Fold ``bn`` (eval mode) into ``conv`` in place and return ``conv``.

    The conv gains a bias if it had none. The folding is computed in float64 and stored in
    the conv's dtype.
    """
    if not _fusable(conv, bn):
        raise ValueError(f'cannot fuse {type(bn).__name__}({bn.num_features}) into '
                         f'{type(conv).__name__}({conv.out_channels} channels)')
    weight = conv.weight.double()
    mean, var = bn.running_mean.double(), bn.running_var.double()
    gamma = bn.weight.double() if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.double() if bn.bias is not None else torch.zeros_like(mean)
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
    if not _fusable(module.conv, module.norm):
        return False
    fuse_conv_bn_pair(module.conv, module.norm)
    setattr(module, module.norm_name, nn.Identity())
    if getattr(module, 'efficient_conv_bn_eval_forward', None) is not None:
        module.efficient_conv_bn_eval_forward = None  # it would pass the Identity as a BN
    return True


def _fuse_sequential(module: nn.Module) -> int:
    if not isinstance(module, nn.Sequential):
        return 0
    fused = 0
    names = list(module._modules)
    for first, second in zip(names, names[1:]):
        conv, bn = module._modules[first], module._modules[second]
        if _fusable(conv, bn):
            fuse_conv_bn_pair(conv, bn)
            module._modules[second] = nn.Identity()
            fused += 1
    return fused


def fuse_conv_bn(model: nn.Module) -> int:
    """Fold every eval-mode BN that directly follows a conv into it, in place.

    Args:
        model (nn.Module): The model, in eval mode (its BNs use running statistics).

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
        fused += _fuse_sequential(module)
    return fused
