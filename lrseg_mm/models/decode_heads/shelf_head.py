from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_upsample_layer
from mmseg.models.backbones.bisenetv1 import AttentionRefinementModule
from mmseg.models.builder import build_loss
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.decode_heads.enc_head import EncHead
from mmseg.registry import MODELS
from torch import Tensor

from ..utils import SBlock

UP_MODES = ('arm', 'deconv')


@MODELS.register_module()
class ShelfHead(BaseDecodeHead):
    """ShelfNet's decoder: a shelf of two encoder-decoder columns built from S-Blocks.

    `ShelfNet for Fast Semantic Segmentation <https://arxiv.org/abs/1811.11254>`_
    (Zhuang et al., ICCV-W 2019). The head takes L >= 2 backbone levels, finest first, and

    1. maps each level to its shelf width with a 1x1 ConvModule (``shelf_channels``; no
       lateral convs when it is None);
    2. **decoder column**: an :class:`SBlock` on the coarsest level, then level by level
       towards the finest an *up step* that fuses the coarser result with the lateral;
    3. **ladder column**: an S-Block on the finest decoder output, then going down at each
       level ``S-Block(x + decoder level)`` and a strided 3x3 conv (bias, ``residual_act``)
       to the next width; an S-Block at the bottom; up steps back to the finest level,
       fusing with the S-Block outputs of the way down;
    4. classifies the finest ladder output (``num_convs`` 3x3 ConvModules to ``channels``,
       then ``conv_seg``).

    Up steps (``up_mode``): ``'arm'`` (real-time ShelfNet18/34-lw) is BiSeNet's attention
    refinement module at the coarse resolution, nearest upsampling, addition of the skip
    and a 3x3 ConvModule; ``'deconv'`` (ShelfNet50/101) is a 3x3 stride-2 transposed conv,
    addition of the skip and an S-Block. Upsampling always lands on the skip's size, so odd
    input sizes work.

    Training-only outputs: ``aux_levels`` adds one classifier (3x3 ConvModule to
    ``aux_channels`` + a ``conv_seg``-like conv) per listed ladder level (ShelfNet-lw uses
    the 1/16 and 1/32 levels), and ``use_se_loss`` adds the SE-loss layer: global max pool
    of the ladder bottom -> Linear -> per-class presence logits (ShelfNet50/101). In
    training :meth:`forward` returns ``(main_logits, *aux_logits[, se_logits])`` (as
    mmseg's DDRHead does), in eval only the main logits and the training-only modules are
    not run. Every segmentation output gets ``loss_decode`` with its own ``sampler`` pass
    (OHEM per output, as the official code does).

    Args:
        in_channels (Sequence[int]): Channels of the selected backbone levels, finest first.
        in_index (Sequence[int]): Indices of those levels in the backbone outputs.
        channels (int): Width of the main classifier's 3x3 ConvModules; with
            ``num_convs=0`` it must equal ``shelf_channels[0]``.
        shelf_channels (Sequence[int] | None): Width of each shelf level, finest first.
            None keeps the backbone widths and builds no lateral convs (ShelfNet34-lw).
            Default: (64, 128, 256) (ShelfNet18-lw).
        up_mode (str): ``'arm'`` or ``'deconv'``, see above. Default: 'arm'.
        num_convs (int): 3x3 ConvModules before ``conv_seg`` in the main classifier.
            Default: 1.
        seg_kernel_size (int): Kernel size of ``conv_seg`` and the auxiliary classifiers'
            last conv. Default: 3 (ShelfNet-lw; 1 for ShelfNet50/101).
        seg_bias (bool): Whether those convs have a bias. Default: False (ShelfNet-lw).
        aux_levels (Sequence[int]): Ladder levels (1 .. L-1, 0 is the finest) that get a
            training-only classifier. Default: (1, 2).
        aux_channels (int): Width of the auxiliary classifiers' ConvModule. Default: 64.
        aux_loss_weight (float): Factor on the auxiliary levels' losses. Default: 1.0.
        sblock_dropout_ratio (float): Dropout2d inside every S-Block. Default: 0.1.
        residual_act_cfg (dict | None): Activation after each S-Block's residual sum and
            after the ladder's strided convs (a plain ReLU in all official models).
            Default: ReLU.
        use_se_loss (bool): Add the SE-loss layer and loss. Default: False.
        loss_se_decode (dict): Config of the SE loss. Default: sigmoid cross-entropy with
            weight 0.2 (mmseg's EncHead default and the official weight).
        **kwargs: :class:`BaseDecodeHead` arguments (``num_classes``, ``norm_cfg`` (default
            BN here), ``act_cfg``, ``loss_decode``, ``sampler``, ``dropout_ratio``, ...).
    """

    def __init__(self,
                 in_channels: Sequence[int],
                 in_index: Sequence[int],
                 channels: int,
                 shelf_channels: Optional[Sequence[int]] = (64, 128, 256),
                 up_mode: str = 'arm',
                 num_convs: int = 1,
                 seg_kernel_size: int = 3,
                 seg_bias: bool = False,
                 aux_levels: Sequence[int] = (1, 2),
                 aux_channels: int = 64,
                 aux_loss_weight: float = 1.0,
                 sblock_dropout_ratio: float = 0.1,
                 residual_act_cfg: Optional[dict] = dict(type='ReLU'),
                 use_se_loss: bool = False,
                 loss_se_decode: dict = dict(
                     type='CrossEntropyLoss', use_sigmoid=True, loss_weight=0.2),
                 norm_cfg: Optional[dict] = dict(type='BN', requires_grad=True),
                 **kwargs):
        if kwargs.get('input_transform', 'multiple_select') != 'multiple_select':
            raise ValueError("ShelfHead takes several levels; input_transform must be "
                             f"'multiple_select', got {kwargs['input_transform']!r}")
        kwargs['input_transform'] = 'multiple_select'
        if not isinstance(in_channels, (list, tuple)) or len(in_channels) < 2:
            raise ValueError('ShelfHead needs at least two input levels (in_channels a '
                             f'sequence of length >= 2), got {in_channels!r}')
        if not isinstance(in_index, (list, tuple)) or len(in_index) != len(in_channels):
            raise ValueError(f'ShelfHead in_index {in_index!r} must be a sequence as long '
                             f'as in_channels {in_channels!r}')
        super().__init__(in_channels, channels, in_index=in_index, norm_cfg=norm_cfg,
                         **kwargs)
        num_levels = len(self.in_channels)
        if shelf_channels is None:
            shelf_channels = tuple(self.in_channels)
            self.lateral_convs = None
        else:
            shelf_channels = tuple(shelf_channels)
            if len(shelf_channels) != num_levels:
                raise ValueError(f'ShelfHead shelf_channels {shelf_channels} must have one '
                                 f'width per input level ({num_levels})')
            self.lateral_convs = nn.ModuleList(
                ConvModule(c_in, c_out, 1, **self._conv_kwargs())
                for c_in, c_out in zip(self.in_channels, shelf_channels))
        if up_mode not in UP_MODES:
            raise ValueError(f'ShelfHead up_mode must be one of {UP_MODES}, got {up_mode!r}')
        if num_convs < 0:
            raise ValueError(f'ShelfHead num_convs must be >= 0, got {num_convs}')
        if num_convs == 0 and channels != shelf_channels[0]:
            raise ValueError(f'ShelfHead with num_convs=0 classifies the finest shelf level '
                             f'directly: channels ({channels}) must equal its width '
                             f'({shelf_channels[0]})')
        if seg_kernel_size < 1 or seg_kernel_size % 2 == 0:
            raise ValueError(f'ShelfHead seg_kernel_size must be odd, got {seg_kernel_size}')
        bad_levels = [lvl for lvl in aux_levels if not 1 <= lvl < num_levels]
        if bad_levels:
            raise ValueError(f'ShelfHead aux_levels {bad_levels} out of range 1..'
                             f'{num_levels - 1} (level 0 is the main output)')
        self.shelf_channels = shelf_channels
        self.up_mode = up_mode
        self.aux_levels = tuple(aux_levels)
        self.aux_loss_weight = aux_loss_weight
        self.use_se_loss = use_se_loss
        self.sblock_dropout_ratio = sblock_dropout_ratio
        self.residual_act_cfg = residual_act_cfg

        coarse_to_fine = list(zip(shelf_channels[1:], shelf_channels[:-1]))
        # Decoder column. The official Decoder also builds an `inconv` S-Block that its
        # forward never uses; it is left out here.
        self.decoder_bottom = self._s_block(shelf_channels[-1])
        self.decoder_up_convs = nn.ModuleList(self._up_conv(c, f) for c, f in coarse_to_fine)
        self.decoder_fuses = nn.ModuleList(self._fuse(f) for _, f in coarse_to_fine)
        # Ladder column.
        self.ladder_in = self._s_block(shelf_channels[0])
        self.ladder_down_blocks = nn.ModuleList(
            self._s_block(c) for c in shelf_channels[:-1])
        self.ladder_down_convs = nn.ModuleList(
            ConvModule(f, c, 3, stride=2, padding=1, bias=True, conv_cfg=self.conv_cfg,
                       norm_cfg=None, act_cfg=residual_act_cfg)
            for c, f in coarse_to_fine)
        self.ladder_bottom = self._s_block(shelf_channels[-1])
        self.ladder_up_convs = nn.ModuleList(self._up_conv(c, f) for c, f in coarse_to_fine)
        self.ladder_fuses = nn.ModuleList(self._fuse(f) for _, f in coarse_to_fine)
        # Main classifier.
        self.convs = nn.Sequential(*[
            ConvModule(shelf_channels[0] if i == 0 else channels, channels, 3, padding=1,
                       **self._conv_kwargs()) for i in range(num_convs)
        ])
        if seg_kernel_size != 1 or not seg_bias:
            self.conv_seg = self._seg_conv(channels, seg_kernel_size, seg_bias)
        # Training-only outputs.
        self.aux_classifiers = nn.ModuleList(
            nn.Sequential(
                ConvModule(shelf_channels[lvl], aux_channels, 3, padding=1,
                           **self._conv_kwargs()),
                self._seg_conv(aux_channels, seg_kernel_size, seg_bias))
            for lvl in self.aux_levels)
        if use_se_loss:
            self.se_layer = nn.Linear(shelf_channels[-1], self.num_classes)
            self.loss_se_decode = build_loss(loss_se_decode)

    def _conv_kwargs(self) -> dict:
        return dict(conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)

    def _seg_conv(self, in_channels: int, kernel_size: int, bias: bool) -> nn.Conv2d:
        return nn.Conv2d(in_channels, self.out_channels, kernel_size,
                         padding=kernel_size // 2, bias=bias)

    def _s_block(self, channels: int) -> SBlock:
        return SBlock(channels, self.sblock_dropout_ratio, out_act_cfg=self.residual_act_cfg,
                      **self._conv_kwargs())

    def _up_conv(self, coarse: int, fine: int) -> nn.Module:
        if self.up_mode == 'arm':
            return AttentionRefinementModule(coarse, fine, **self._conv_kwargs())
        # output_padding=1 doubles the size; odd skips are cropped in _up_step
        return build_upsample_layer(dict(type='deconv'), coarse, fine, kernel_size=3,
                                    stride=2, padding=1, output_padding=1)

    def _fuse(self, channels: int) -> nn.Module:
        if self.up_mode == 'arm':
            return ConvModule(channels, channels, 3, padding=1, **self._conv_kwargs())
        return self._s_block(channels)

    def _up_step(self, up_conv: nn.Module, fuse: nn.Module, coarse: Tensor,
                 skip: Tensor) -> Tensor:
        size = skip.shape[2:]
        if self.up_mode == 'arm':
            up = F.interpolate(up_conv(coarse), size=size, mode='nearest')
        else:
            # the first 2n-1 outputs of the transposed conv do not depend on
            # output_padding, so cropping equals asking for the odd size
            up = up_conv(coarse)[..., :size[0], :size[1]]
        return fuse(up + skip)

    def shelf_forward(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Run laterals, decoder and ladder; return the ladder's levels, finest first."""
        feats = self._transform_inputs(inputs)
        if self.lateral_convs is not None:
            feats = [conv(x) for conv, x in zip(self.lateral_convs, feats)]
        num_levels = len(feats)
        decoded = [None] * num_levels
        decoded[-1] = self.decoder_bottom(feats[-1])
        for i in reversed(range(num_levels - 1)):
            decoded[i] = self._up_step(self.decoder_up_convs[i], self.decoder_fuses[i],
                                       decoded[i + 1], feats[i])
        out = self.ladder_in(decoded[0])
        down = []
        for i in range(num_levels - 1):
            out = self.ladder_down_blocks[i](out + decoded[i])
            down.append(out)
            out = self.ladder_down_convs[i](out)
        laddered = [None] * num_levels
        laddered[-1] = self.ladder_bottom(out)
        for i in reversed(range(num_levels - 1)):
            laddered[i] = self._up_step(self.ladder_up_convs[i], self.ladder_fuses[i],
                                        laddered[i + 1], down[i])
        return laddered

    def forward(self, inputs: Sequence[Tensor]) -> Union[Tensor, Tuple[Tensor, ...]]:
        laddered = self.shelf_forward(inputs)
        logits = self.cls_seg(self.convs(laddered[0]))
        if not self.training:
            return logits
        extra = [head(laddered[lvl]) for lvl, head in zip(self.aux_levels,
                                                           self.aux_classifiers)]
        if self.use_se_loss:
            extra.append(self.se_layer(torch.amax(laddered[-1], dim=(2, 3))))
        return (logits, *extra) if extra else logits

    def predict(self, inputs, batch_img_metas: List[dict], test_cfg) -> Tensor:
        """Main logits only, also if called while the head is in training mode."""
        seg_logits = self.forward(inputs)
        if isinstance(seg_logits, tuple):
            seg_logits = seg_logits[0]
        return self.predict_by_feat(seg_logits, batch_img_metas)

    def loss_by_feat(self, seg_logits: Union[Tensor, Sequence[Tensor]],
                     batch_data_samples) -> dict:
        """Main loss (``loss_ce``, ``acc_seg``), ``aux_<level>.*`` losses and ``loss_se``."""
        if isinstance(seg_logits, Tensor):
            seg_logits = (seg_logits, )
        expected = 1 + len(self.aux_levels) + int(self.use_se_loss)
        if len(seg_logits) != expected:
            raise ValueError(f'ShelfHead.loss_by_feat expects {expected} outputs (main, '
                             f'{len(self.aux_levels)} auxiliary, SE: {self.use_se_loss}), '
                             f'got {len(seg_logits)}; was the head in training mode?')
        main, *extra = seg_logits
        losses = super().loss_by_feat(main, batch_data_samples)
        for lvl, logits in zip(self.aux_levels, extra):
            aux_losses = super().loss_by_feat(logits, batch_data_samples)
            for name, value in aux_losses.items():
                if name.startswith('loss'):
                    losses[f'aux_{lvl}.{name}'] = value * self.aux_loss_weight
        if self.use_se_loss:
            seg_label = self._stack_batch_gt(batch_data_samples)
            presence = EncHead._convert_to_onehot_labels(seg_label, self.num_classes)
            losses['loss_se'] = self.loss_se_decode(extra[-1], presence)
        return losses
