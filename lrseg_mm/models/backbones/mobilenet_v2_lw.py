from collections import OrderedDict

import torch.nn as nn
from mmcv.cnn import build_activation_layer, build_conv_layer, build_norm_layer
from mmseg.models.backbones import MobileNetV2
from mmseg.registry import MODELS


@MODELS.register_module()
class MobileNetV2LW(MobileNetV2):
    """The toolbox's MobileNetV2 with Light-Weight RefineNet's expansion conv in layer 1.

    `Light-Weight RefineNet <https://arxiv.org/abs/1810.03272>`_ (Nekrasov et al., BMVC 2018)
    builds its `MobileNetV2 <https://arxiv.org/abs/1801.04381>`_ encoder with a 1x1 expansion
    conv (+ norm + ReLU6) in every inverted residual block, even in the first block whose
    expansion ratio is 1; the toolbox's :class:`mmseg.models.backbones.MobileNetV2` (like
    torchvision's) drops that conv. With ``first_block_expansion=True`` this backbone adds it
    back as ``layer1_expand`` between the stem and ``layer1``: the first block has no
    residual connection (32 -> 16 channels), so this is the same function as the official
    block, and every other key stays the toolbox's, so toolbox/ImageNet MobileNetV2
    checkpoints (``mmcls://mobilenet_v2``) still fit. Those checkpoints have no weights for
    the added conv; it is therefore built as an identity (Dirac weights, norm weight 1 and
    bias 0), which with frozen norm statistics (``norm_eval=True``, running mean 0 and
    variance 1) passes the ReLU6 stem output through unchanged at the start of training.
    Under the default (non-``Pretrained``) init it is Kaiming-initialised like every conv.
    It adds 32 * 32 + 2 * 32 = 1,088 parameters at widen factor 1.

    The default ``out_indices=(1, 2, 3, 4, 5, 6)`` give Light-Weight RefineNet's six taps:
    24 channels at 1/4, 32 at 1/8, 64 and 96 at 1/16, 160 and 320 at 1/32.

    Args:
        first_block_expansion (bool): Add the expansion conv to the first (t = 1) block.
            Default: True.
        out_indices (Sequence[int]): Layers (0-6) whose outputs are returned.
            Default: (1, 2, 3, 4, 5, 6).
        **kwargs: The other :class:`~mmseg.models.backbones.MobileNetV2` arguments
            (``widen_factor``, ``strides``, ``dilations``, ``frozen_stages``, ``conv_cfg``,
            ``norm_cfg``, ``act_cfg``, ``norm_eval``, ``with_cp``, ``init_cfg``).
    """

    def __init__(self, first_block_expansion: bool = True, out_indices=(1, 2, 3, 4, 5, 6),
                 **kwargs):
        super().__init__(out_indices=out_indices, **kwargs)
        self.first_block_expansion = first_block_expansion
        self.layer1_expand = None
        if not first_block_expansion:
            return
        first = self.layer1[0]
        if first.use_res_connect:
            raise ValueError(
                'first_block_expansion needs a first block without residual connection; '
                f'widen_factor={self.widen_factor} with strides[0]={self.strides[0]} gives '
                'equal input and output channels')
        channels = self.conv1.conv.out_channels
        conv = build_conv_layer(self.conv_cfg, channels, channels, 1, bias=False)
        nn.init.dirac_(conv.weight)
        norm_name, norm = build_norm_layer(self.norm_cfg, channels)
        # A plain Sequential (no init_weights of its own), so a Pretrained init that lacks
        # these keys leaves the identity in place; the default init_cfg still reaches it.
        self.layer1_expand = nn.Sequential(
            OrderedDict([('conv', conv), (norm_name, norm),
                         ('activate', build_activation_layer(self.act_cfg))]))

    def forward(self, x):
        x = self.conv1(x)
        if self.layer1_expand is not None:
            x = self.layer1_expand(x)
        outs = []
        for i, layer_name in enumerate(self.layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _freeze_stages(self):
        super()._freeze_stages()
        if self.frozen_stages >= 1 and self.layer1_expand is not None:
            self.layer1_expand.eval()
            for param in self.layer1_expand.parameters():
                param.requires_grad = False
