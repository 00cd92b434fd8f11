from typing import Sequence

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS

from ..utils import channel_shuffle

# FactorizedConvBlock's choices of where its branches normalise.
BRANCH_NORMS = ('each', 'pair')
# Activations mmcv's ConvModule never builds in place (no `inplace` argument or not safe).
_NOT_INPLACE = ('Tanh', 'PReLU', 'Sigmoid', 'HSigmoid', 'Swish', 'GELU')


def _inplace_act(act_cfg: dict) -> nn.Module:
    """The activation of ``act_cfg``, in place where the type allows (as ConvModule does);
    only ever applied to tensors the block has just created."""
    act_cfg = dict(act_cfg)
    if act_cfg['type'] not in _NOT_INPLACE:
        act_cfg.setdefault('inplace', True)
    return build_activation_layer(act_cfg)


class DownsamplerBlock(BaseModule):
    """ENet-style downsampler: a strided 3x3 conv beside a 2x2 max-pool, concatenated.

    The conv gives ``out_channels - in_channels`` channels and the pool keeps the input's,
    then norm and activation. The pool uses ``ceil_mode`` so both branches agree on odd sizes
    (both give ceil(L / 2)).

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels; must exceed ``in_channels``.
        conv_cfg (dict | None): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: BN.
        act_cfg (dict): Activation config. Default: ReLU.
        init_cfg (dict | list[dict] | None): Initialization config. Default: None.
    """

    def __init__(self, in_channels, out_channels, conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True), act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if out_channels <= in_channels:
            raise ValueError(f'DownsamplerBlock needs out_channels > in_channels, got '
                             f'{in_channels} -> {out_channels}')
        self.conv = build_conv_layer(conv_cfg, in_channels, out_channels - in_channels, 3,
                                     stride=2, padding=1, bias=False)
        self.pool = nn.MaxPool2d(2, stride=2, ceil_mode=True)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = _inplace_act(act_cfg)

    def forward(self, x):
        return self.act(self.bn(torch.cat([self.conv(x), self.pool(x)], dim=1)))


class FactorizedConvBlock(BaseModule):
    """Factorized Convolution Block (FCB) of LRNNet.

    Short range: the channels are split in two halves; one passes a 3x1 then a 1x3 conv, the
    other a 1x3 then a 3x1 conv, each conv followed by norm and activation
    (``branch_norm='each'``; the paper does not say, and ``'pair'`` gives the ERFNet/LEDNet
    placement instead: the first conv of each pair with a bias and the activation only, the
    second with norm and activation). Long range: the
    concatenated halves pass a depthwise 3x3 conv with ``dilation`` and a pointwise 1x1 conv
    with norm. Then dropout, the residual add, activation, and a channel shuffle so the two
    halves exchange information in the next block.

    Args:
        channels (int): Input and output channels (even).
        dilation (int): Dilation of the depthwise conv. Default: 1.
        drop_rate (float): Dropout2d probability before the residual add. Default: 0.
        shuffle_groups (int): Groups of the final channel shuffle. Default: 2.
        branch_norm (str): Where the branches normalise: 'each' conv, or once per 'pair'
            (after the second conv; the first has a bias). Default: 'each'.
        conv_cfg (dict | None): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: BN.
        act_cfg (dict): Activation config. Default: ReLU.
        init_cfg (dict | list[dict] | None): Initialization config. Default: None.
    """

    def __init__(self, channels, dilation=1, drop_rate=0., shuffle_groups=2,
                 branch_norm='each', conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True), act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if channels % 2:
            raise ValueError(f'FactorizedConvBlock needs an even channel count, got {channels}')
        if branch_norm not in BRANCH_NORMS:
            raise ValueError(f'FactorizedConvBlock: branch_norm must be one of '
                             f'{", ".join(BRANCH_NORMS)}, got {branch_norm!r}')
        half = channels // 2
        second = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        first = second if branch_norm == 'each' else dict(second, norm_cfg=None)
        self.branch_3x1_1x3 = nn.Sequential(
            ConvModule(half, half, (3, 1), padding=(1, 0), **first),
            ConvModule(half, half, (1, 3), padding=(0, 1), **second))
        self.branch_1x3_3x1 = nn.Sequential(
            ConvModule(half, half, (1, 3), padding=(0, 1), **first),
            ConvModule(half, half, (3, 1), padding=(1, 0), **second))
        self.depthwise = build_conv_layer(conv_cfg, channels, channels, 3, padding=dilation,
                                          dilation=dilation, groups=channels, bias=False)
        self.pointwise = ConvModule(channels, channels, 1, conv_cfg=conv_cfg,
                                    norm_cfg=norm_cfg, act_cfg=None)
        self.dropout = nn.Dropout2d(drop_rate) if drop_rate > 0 else nn.Identity()
        self.act = _inplace_act(act_cfg)
        self.shuffle_groups = shuffle_groups

    def forward(self, x):
        left, right = x.chunk(2, dim=1)
        out = torch.cat([self.branch_3x1_1x3(left), self.branch_1x3_3x1(right)], dim=1)
        out = self.dropout(self.pointwise(self.depthwise(out)))
        # `out` is a new tensor: unless autograd records it, the residual goes in place, and
        # the activation is built in place, so no map is allocated twice.
        out = out + x if torch.is_grad_enabled() and out.requires_grad else out.add_(x)
        return channel_shuffle(self.act(out), self.shuffle_groups)


@MODELS.register_module()
class LRNNet(BaseModule):
    """LRNNet encoder: three downsampling stages of Factorized Convolution Blocks.

    `LRNNet: A Light-Weighted Network with Efficient Reduced Non-Local Operation for Real-Time
    Semantic Segmentation <https://arxiv.org/abs/2006.02706>`_ (Jiang et al., ICME-W 2020).
    No official code exists; the layout follows the paper and LEDNet, on which it builds:
    stage i is a :class:`DownsamplerBlock` followed by one :class:`FactorizedConvBlock` per
    entry of ``dilations[i]``. The defaults give the paper's encoder (output stride 8, 128
    channels, about 0.64 M parameters).

    Args:
        in_channels (int): Image channels. Default: 3.
        stage_channels (Sequence[int]): Output channels of each stage. Default: (32, 64, 128).
        dilations (Sequence[Sequence[int]]): Depthwise dilations of each stage's FCBs.
            Default: ((1, 1, 1), (1, 1), (1, 2, 5, 9, 2, 5, 9, 17)).
        drop_rates (Sequence[float]): Dropout of each stage's FCBs, LEDNet's values.
            Default: (0.03, 0.03, 0.3).
        shuffle_groups (int): Channel-shuffle groups in every FCB. Default: 2.
        fcb_branch_norm (str): ``branch_norm`` of every FCB ('each' or 'pair').
            Default: 'each'.
        out_indices (Sequence[int]): Stages whose outputs are returned (strides 2, 4, 8).
            Default: (0, 1, 2).
        conv_cfg (dict | None): Conv layer config. Default: None.
        norm_cfg (dict): Norm layer config. Default: BN.
        act_cfg (dict): Activation config. Default: ReLU.
        init_cfg (dict | list[dict] | None): Initialization config. Default: None.
    """

    def __init__(self,
                 in_channels: int = 3,
                 stage_channels: Sequence[int] = (32, 64, 128),
                 dilations: Sequence[Sequence[int]] = ((1, 1, 1), (1, 1),
                                                       (1, 2, 5, 9, 2, 5, 9, 17)),
                 drop_rates: Sequence[float] = (0.03, 0.03, 0.3),
                 shuffle_groups: int = 2,
                 fcb_branch_norm: str = 'each',
                 out_indices: Sequence[int] = (0, 1, 2),
                 conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True),
                 act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not len(stage_channels) == len(dilations) == len(drop_rates):
            raise ValueError('LRNNet: stage_channels, dilations and drop_rates must have one '
                             f'entry per stage, got {len(stage_channels)}, {len(dilations)} '
                             f'and {len(drop_rates)}')
        for i in out_indices:
            if not 0 <= i < len(stage_channels):
                raise ValueError(f'LRNNet: out_indices entry {i} is outside the '
                                 f'{len(stage_channels)} stages')
        self.out_indices = tuple(out_indices)
        cfgs = dict(conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.stages = nn.ModuleList()
        channels = in_channels
        for out_channels, stage_dilations, drop_rate in zip(stage_channels, dilations,
                                                            drop_rates):
            blocks = [DownsamplerBlock(channels, out_channels, **cfgs)]
            blocks += [
                FactorizedConvBlock(out_channels, d, drop_rate, shuffle_groups,
                                    fcb_branch_norm, **cfgs)
                for d in stage_dilations
            ]
            self.stages.append(nn.Sequential(*blocks))
            channels = out_channels

    def forward(self, x):
        if x.device.type == 'cpu':
            # oneDNN's CPU convolutions (depthwise and 3x1/1x3 above all), pooling and BN are
            # much faster on channels-last maps; the values are the same. On GPUs the
            # caller's memory format is kept.
            x = x.contiguous(memory_format=torch.channels_last)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
