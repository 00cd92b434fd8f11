from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm


class ShelfNetBasicBlock(BaseModule):
    """ResNet basic block with ShelfNet-lw's activation placement.

    ``conv1 -> bn1 -> act -> conv2 -> bn2``, plus the shortcut (``downsample``: 1x1 conv +
    norm, no activation, where the shape changes), then ``out_act`` after the sum. The
    official ShelfNet-lw ResNet builds ``bn1`` as InPlace-ABN with its default LeakyReLU(0.01)
    and ``bn2`` / the shortcut norm as InPlace-ABN with ``activation='none'``; the attribute
    names are torchvision's, so torchvision ResNet-18/34 weights load as they are.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of ``conv1`` and of the shortcut conv. Default: 1.
        conv_cfg (dict | None): Config of the convs. Default: None (Conv2d).
        norm_cfg (dict): Config of the norm layers. Default: BN.
        act_cfg (dict | None): Activation after ``bn1``. Default: LeakyReLU(0.01).
        out_act_cfg (dict | None): Activation after the residual sum. Default: ReLU.
        init_cfg (dict | list[dict] | None): Initialization config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='LeakyReLU', negative_slope=0.01),
                 out_act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.conv1 = build_conv_layer(conv_cfg, in_channels, out_channels, 3, stride=stride,
                                      padding=1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = build_activation_layer(act_cfg) if act_cfg else nn.Identity()
        self.conv2 = build_conv_layer(conv_cfg, out_channels, out_channels, 3, padding=1,
                                      bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                build_conv_layer(conv_cfg, in_channels, out_channels, 1, stride=stride,
                                 bias=False),
                build_norm_layer(norm_cfg, out_channels)[1])
        self.out_act = build_activation_layer(out_act_cfg) if out_act_cfg else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(self.act(self.bn1(self.conv1(x)))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.out_act(out + shortcut)


@MODELS.register_module()
class ShelfNetResNet(BaseModule):
    """ResNet-18/34 as the official ShelfNet-lw builds it (torchvision layout).

    `ShelfNet for Fast Semantic Segmentation <https://arxiv.org/abs/1811.11254>`_
    (Zhuang et al., ICCV-W 2019); the real-time models of the official code
    (github.com/juntang-zhuang/ShelfNet-lw-cityscapes, ``resnet.py``) use a
    `ResNet <https://arxiv.org/abs/1512.03385>`_ whose norm layers are
    `InPlace-ABN <https://arxiv.org/abs/1712.02616>`_. Its default activation is
    LeakyReLU(0.01), so the network differs from torchvision's (and mmseg's ``ResNet``) in
    where it activates:

    * stem: ``conv1 -> bn1 -> LeakyReLU(0.01) -> 3x3 max-pool`` (no ReLU);
    * every basic block: LeakyReLU(0.01) after ``bn1``, none after ``bn2`` or the shortcut
      norm, a ReLU after the residual sum (:class:`ShelfNetBasicBlock`).

    Parameter and buffer names are torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1``,
    ``layer2.0.downsample.0``, ...), so the ImageNet weights the official code starts from
    (``https://download.pytorch.org/models/resnet18-5c106cde.pth`` and
    ``resnet34-333f7ec4.pth``) fill every parameter and buffer; only their ``fc.*``
    classifier is unused. The official code loads those BN weights into InPlace-ABN, which
    scales by ``|weight| + eps``; this backbone uses them as ordinary BN weights. Checkpoints
    of the official *trained* models need that rule applied, which
    ``tools/model_converters/shelfnet2mmseg.py`` does. Parameters: 11,176,512 (depth 18) and
    21,284,672 (depth 34), as torchvision's without ``fc``.

    Args:
        depth (int): 18 or 34. Default: 18.
        out_indices (Sequence[int]): Stages (0-3: strides 4, 8, 16, 32) whose outputs are
            returned. Default: (1, 2, 3) (ShelfNet-lw's 1/8, 1/16 and 1/32 maps).
        conv_cfg (dict | None): Config of the convs. Default: None (Conv2d).
        norm_cfg (dict): Config of every norm layer. Default: BN.
        act_cfg (dict | None): Activation where InPlace-ABN activates (after the stem norm and
            after every block's first norm). Default: LeakyReLU(0.01), InPlace-ABN's default.
        out_act_cfg (dict | None): Activation after every residual sum. Default: ReLU.
        norm_eval (bool): Keep the norm layers in eval mode (frozen statistics) during
            training. Default: False.
        init_cfg (dict | list[dict] | None): Initialization config, e.g.
            ``dict(type='Pretrained', checkpoint=URL)``. Default: None (Kaiming-normal convs,
            norm weights 1, as mmseg's ResNet).
    """

    arch_settings = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}
    stage_channels = (64, 128, 256, 512)

    def __init__(self,
                 depth: int = 18,
                 out_indices: Sequence[int] = (1, 2, 3),
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: Optional[dict] = dict(type='LeakyReLU', negative_slope=0.01),
                 out_act_cfg: Optional[dict] = dict(type='ReLU'),
                 norm_eval: bool = False,
                 init_cfg=None):
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg=init_cfg)
        if depth not in self.arch_settings:
            raise ValueError(f'ShelfNetResNet depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth!r}')
        out_indices = tuple(out_indices)
        if not out_indices or any(not 0 <= i < 4 for i in out_indices):
            raise ValueError('ShelfNetResNet out_indices must be stage indices in 0..3, got '
                             f'{out_indices!r}')
        self.depth = depth
        self.out_indices = out_indices
        self.norm_eval = norm_eval
        self.conv1 = build_conv_layer(conv_cfg, 3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, 64)[1]
        self.act = build_activation_layer(act_cfg) if act_cfg else nn.Identity()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        in_channels = 64
        self.layer_names = []
        for i, (num_blocks, channels) in enumerate(
                zip(self.arch_settings[depth], self.stage_channels)):
            blocks = [
                ShelfNetBasicBlock(in_channels if k == 0 else channels, channels,
                                   stride=2 if (i > 0 and k == 0) else 1, conv_cfg=conv_cfg,
                                   norm_cfg=norm_cfg, act_cfg=act_cfg,
                                   out_act_cfg=out_act_cfg) for k in range(num_blocks)
            ]
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.layer_names.append(name)
            in_channels = channels

    def forward(self, x: torch.Tensor):
        x = self.maxpool(self.act(self.bn1(self.conv1(x))))
        outs = []
        for i, name in enumerate(self.layer_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True):
        """Set train mode; with ``norm_eval`` the norm layers stay in eval mode."""
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
