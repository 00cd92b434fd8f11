import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule


class SBlock(BaseModule):
    """ShelfNet's shared-weight residual block (S-Block).

    From `ShelfNet for Fast Semantic Segmentation <https://arxiv.org/abs/1811.11254>`_
    (Zhuang et al., ICCV-W 2019). A residual block whose two 3x3 convolutions are **one**
    convolution applied twice, which halves the parameters of a basic residual block:
    ``conv -> norm1 -> act -> Dropout2d -> conv (same weights) -> norm2 -> + x -> out_act``.
    Each application has its own norm layer. With BN the block has 9C^2 + 5C parameters
    (conv weight and bias, two BNs).

    Args:
        channels (int): Channels of the input and output map.
        dropout_ratio (float): Dropout2d probability between the two applications.
            Default: 0.1 (ShelfNet18-lw; 0.0 in ShelfNet34-lw, 0.25 in ShelfNet50/101).
        conv_cfg (dict | None): Config of the shared 3x3 conv (it has a bias, as in the
            official code). Default: None (Conv2d).
        norm_cfg (dict | None): Config of both norm layers. Default: BN.
        act_cfg (dict | None): Activation after the first application. Default: ReLU.
        out_act_cfg (dict | None): Activation after the residual sum. Default: ReLU (the
            official code uses a plain ReLU here even where the rest uses LeakyReLU).
        init_cfg (dict | list[dict] | None): Initialization config. Default: None.
    """

    def __init__(self,
                 channels: int,
                 dropout_ratio: float = 0.1,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True),
                 act_cfg=dict(type='ReLU'),
                 out_act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if channels < 1:
            raise ValueError(f'SBlock needs a positive number of channels, got {channels}')
        if not 0 <= dropout_ratio < 1:
            raise ValueError(f'SBlock dropout_ratio must be in [0, 1), got {dropout_ratio}')
        self.channels = channels
        self.conv = build_conv_layer(conv_cfg, channels, channels, 3, padding=1, bias=True)
        self.norm1 = build_norm_layer(norm_cfg, channels)[1] if norm_cfg else nn.Identity()
        self.norm2 = build_norm_layer(norm_cfg, channels)[1] if norm_cfg else nn.Identity()
        self.activate = build_activation_layer(act_cfg) if act_cfg else nn.Identity()
        self.dropout = nn.Dropout2d(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        self.out_activate = (build_activation_layer(out_act_cfg)
                             if out_act_cfg else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != self.channels:
            raise ValueError(f'SBlock expects {self.channels} input channels, '
                             f'got {x.shape[1]}')
        out = self.dropout(self.activate(self.norm1(self.conv(x))))
        out = self.norm2(self.conv(out))  # the same weights a second time
        return self.out_activate(out + x)
