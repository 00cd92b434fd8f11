import math
from typing import List, Optional, Sequence, Union

import torch.nn as nn
from mmcv.cnn import ConvModule, build_activation_layer
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from mmseg.registry import MODELS

from ..utils import ChainedResidualPooling


@MODELS.register_module()
class LightWeightRefineNetHead(BaseDecodeHead):
    """Light-Weight RefineNet decoder: a chain of 1x1 refinement stages with CRP blocks.

    `Light-Weight RefineNet for Real-Time Semantic Segmentation
    <https://arxiv.org/abs/1810.03272>`_ (Nekrasov, Shen and Reid, BMVC 2018); the layout
    follows the official code (github.com/DrSleep/light-weight-refinenet). The selected
    encoder features are split into refinement stages by ``fuse_groups``. From the coarsest
    stage to the finest, each stage

    1. passes every input through ``input_convs[i]`` bias-free 1x1 convs (the first maps it
       to the stage width ``stage_channels[i]``),
    2. sums them with the upsampled output of the coarser stage (if any),
    3. applies the activation (ReLU; ReLU6 in the MobileNet-v2 model),
    4. refines the sum with a :class:`ChainedResidualPooling` block,
    5. and, except for the finest stage, maps it with a bias-free 1x1 conv to the width of the
       next finer stage; that map is bilinearly upsampled to the finer stage's size.

    The finest stage's output passes ``conv_seg``, a ``classifier_kernel_size`` conv with
    bias (3x3 in the official code), so logits come out at the finest input's stride (1/4 on
    ResNet and MobileNet-v2). The decoder has no normalisation layers.

    The official models are two settings of this head (``in_index`` finest first):

    * ResNet-50/101/152 (4 inputs, 256/512/1024/2048 channels): one input per stage,
      ``stage_channels=(256, 256, 256, 512)``, ``input_convs=(2, 2, 2, 1)``,
      ``input_dropout_ratios=(0, 0, 0.5, 0.5)``, ReLU. Decoder weights:
      3,801,088 + 2,305 * num_classes.
    * MobileNet-v2 (6 inputs, 24/32/64/96/160/320 channels):
      ``fuse_groups=((0,), (1,), (2, 3), (4, 5))`` (the 1/16 pair and the 1/32 pair are
      summed), ``input_convs=1``, no dropout, ReLU6. Decoder weights:
      1,423,360 + 2,305 * num_classes.

    Checkpoints load with the strictness the caller asks for, like every PyTorch module: a
    non-strict load (mmengine's ``load_from``) of a checkpoint with another ``num_classes``
    fills every weight but ``conv_seg`` and logs the size mismatch, which is how the papers'
    COCO -> VOC fine-tuning starts. Official checkpoints are converted by
    ``tools/model_converters/lwrefinenet2mmseg.py`` into a state dict that loads strictly.

    Args:
        fuse_groups (Sequence[Sequence[int]] | None): For each stage, finest first, the
            positions (in the order of ``in_index``) of the inputs it sums. Every input must
            appear exactly once. None: one stage per input. Default: None.
        stage_channels (Sequence[int] | None): Width of each stage, finest first; the finest
            must equal ``channels`` (the classifier's input). None: ``channels`` everywhere.
            Default: None.
        input_convs (int | Sequence[int]): Number of 1x1 convs each input of a stage passes
            before the sum, per stage (finest first) or one int for all. Default: 1.
        input_dropout_ratios (float | Sequence[float]): Dropout probability on each selected
            input feature, per input or one float for all; 0 disables it. Default: 0.
        crp_stages (int): Pooling stages of every CRP block. Default: 4.
        crp_pool_kernel_size (int): Max-pool window of the CRP blocks. Default: 5.
        classifier_kernel_size (int): Kernel of ``conv_seg``; odd. Default: 3.
        dropout_ratio (float): Dropout2d before ``conv_seg``; the official model has none.
            Default: 0.
        input_transform (str): Must be ``'multiple_select'``. Default: 'multiple_select'.
        init_cfg (Sequence[dict] | dict | None): Initialization config. Default: every conv
            Kaiming-uniform with a = sqrt(5), i.e. PyTorch's default Conv2d init that the
            official decoder uses, then ``conv_seg`` Normal(0, 0.01) as in mmseg's heads.
            mmcv's ConvModule default (Kaiming-normal, fan_out) would amplify the features
            about 3x in each wide-to-narrow 1x1 conv, and the CRP sums compound it.
        **kwargs: Other :class:`BaseDecodeHead` arguments: ``in_channels`` and ``in_index``
            (lists, finest first), ``channels`` (width of the finest stage, 256 officially),
            ``num_classes``, ``conv_cfg``, ``norm_cfg`` (after every decoder 1x1 conv; None
            officially), ``act_cfg`` (the activation after each sum), ``align_corners`` (of
            the decoder's upsampling and of the segmentor's final resize), ``loss_decode``...
    """

    def __init__(self,
                 fuse_groups: Optional[Sequence[Sequence[int]]] = None,
                 stage_channels: Optional[Sequence[int]] = None,
                 input_convs: Union[int, Sequence[int]] = 1,
                 input_dropout_ratios: Union[float, Sequence[float]] = 0.,
                 crp_stages: int = 4,
                 crp_pool_kernel_size: int = 5,
                 classifier_kernel_size: int = 3,
                 dropout_ratio: float = 0.,
                 input_transform: str = 'multiple_select',
                 init_cfg=(dict(type='Kaiming', layer='Conv2d', a=math.sqrt(5), mode='fan_in',
                                nonlinearity='leaky_relu', distribution='uniform'),
                           dict(type='Normal', std=0.01, override=dict(name='conv_seg'))),
                 **kwargs):
        if input_transform != 'multiple_select':
            raise ValueError("LightWeightRefineNetHead takes several feature maps: "
                             f"input_transform must be 'multiple_select', got {input_transform!r}")
        super().__init__(input_transform=input_transform, dropout_ratio=dropout_ratio,
                         init_cfg=list(init_cfg) if isinstance(init_cfg, tuple) else init_cfg,
                         **kwargs)
        num_inputs = len(self.in_channels)
        self.fuse_groups = self._check_groups(fuse_groups, num_inputs)
        num_stages = len(self.fuse_groups)
        stage_channels = self._per_stage(stage_channels, self.channels, num_stages,
                                         'stage_channels')
        if stage_channels[0] != self.channels:
            raise ValueError(f'stage_channels[0] (finest stage, {stage_channels[0]}) must '
                             f'equal channels ({self.channels}), the classifier input')
        input_convs = self._per_stage(input_convs, input_convs, num_stages, 'input_convs')
        if min(input_convs) < 1:
            raise ValueError(f'input_convs must be >= 1 per stage, got {input_convs}')
        ratios = self._per_stage(input_dropout_ratios, input_dropout_ratios, num_inputs,
                                 'input_dropout_ratios')
        if classifier_kernel_size < 1 or classifier_kernel_size % 2 == 0:
            raise ValueError('classifier_kernel_size must be odd and positive, got '
                             f'{classifier_kernel_size}')

        self.input_dropouts = nn.ModuleList(
            nn.Dropout(p) if p > 0 else nn.Identity() for p in ratios)
        self.stages = nn.ModuleList()
        for i, group in enumerate(self.fuse_groups):
            width = stage_channels[i]
            stage = nn.ModuleDict()
            stage['inputs'] = nn.ModuleList(
                nn.Sequential(*[
                    self._conv1x1(self.in_channels[pos] if k == 0 else width, width)
                    for k in range(input_convs[i])
                ]) for pos in group)
            stage['crp'] = ChainedResidualPooling(
                width, crp_stages, crp_pool_kernel_size, conv_cfg=self.conv_cfg,
                norm_cfg=self.norm_cfg)
            if i > 0:
                stage['out_conv'] = self._conv1x1(width, stage_channels[i - 1])
            self.stages.append(stage)
        self.act = build_activation_layer(self.act_cfg)
        self.conv_seg = nn.Conv2d(self.channels, self.out_channels, classifier_kernel_size,
                                  padding=classifier_kernel_size // 2)

    def _conv1x1(self, in_channels: int, out_channels: int) -> ConvModule:
        return ConvModule(in_channels, out_channels, 1, bias=False, conv_cfg=self.conv_cfg,
                          norm_cfg=self.norm_cfg, act_cfg=None)

    @staticmethod
    def _check_groups(fuse_groups, num_inputs: int) -> List[List[int]]:
        if fuse_groups is None:
            return [[i] for i in range(num_inputs)]
        groups = [list(g) for g in fuse_groups]
        flat = sorted(p for g in groups for p in g)
        if not groups or not all(groups) or flat != list(range(num_inputs)):
            raise ValueError(f'fuse_groups {fuse_groups} must be non-empty groups that use '
                             f'each of the {num_inputs} input positions 0..{num_inputs - 1} '
                             'exactly once')
        return groups

    @staticmethod
    def _per_stage(value, default, length: int, name: str) -> list:
        if value is None:
            value = default
        if isinstance(value, (int, float)):
            return [value] * length
        value = list(value)
        if len(value) != length:
            raise ValueError(f'{name} needs {length} entries, got {len(value)}: {value}')
        return value

    def forward(self, inputs):
        feats = self._transform_inputs(inputs)
        feats = [drop(x) for drop, x in zip(self.input_dropouts, feats)]
        coarser = None
        for i in reversed(range(len(self.stages))):
            stage = self.stages[i]
            group = [feats[pos] for pos in self.fuse_groups[i]]
            size = group[0].shape[2:]
            if any(x.shape[2:] != size for x in group):
                raise ValueError(f'inputs {self.fuse_groups[i]} summed in stage {i} must share '
                                 f'a size, got {[tuple(x.shape[2:]) for x in group]}')
            x = sum(convs(x) for convs, x in zip(stage['inputs'], group))
            if coarser is not None:
                x = x + resize(coarser, size=size, mode='bilinear',
                               align_corners=self.align_corners)
            x = stage['crp'](self.act(x))
            if i > 0:
                coarser = stage['out_conv'](x)
        return self.cls_seg(x)
