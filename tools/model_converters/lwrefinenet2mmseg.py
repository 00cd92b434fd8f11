# Copyright (c) lrseg-mm contributors. Licensed under the Apache License 2.0.
"""Convert an official Light-Weight RefineNet checkpoint to lrseg-mm's RF-LW configs.

Covers the official models of github.com/DrSleep/light-weight-refinenet: ``rf_lw50``,
``rf_lw101``, ``rf_lw152`` (``models/resnet.py``: torchvision-named ResNet + ``p_ims1d2_*``,
``adapt_stage*``, ``mflow_conv_g*`` decoder, ``clf_conv``) and ``mbv2`` (``models/mobilenet.py``:
``layer1`` .. ``layer8``, ``conv3`` .. ``conv8``, ``crp1`` .. ``crp4``, ``conv_adapt*``,
``segm``). Every tensor is renamed, none changed; norm layers without ``num_batches_tracked``
(checkpoints older than PyTorch 0.4.1) get 0.

Usage::

    python tools/model_converters/lwrefinenet2mmseg.py SRC DST [--arch {r50,r101,r152,mbv2}]

SRC is the official state dict (bare, or under ``state_dict`` / ``model``, keys with or
without a ``module.`` prefix); DST an mmengine checkpoint whose ``state_dict`` loads with
``strict=True`` into ``configs/lw_refinenet/lw-refinenet_{arch}_4xb4-40k_voc12aug-512x512.py``
(21 classes; another class count loads into the same config with that ``num_classes``).
"""
from collections import OrderedDict

from lrseg_mm.utils import (apply_key_mapping, check_keys, count_blocks, resolve_arch,
                            run_converter_cli)

NORM_TENSORS = ('weight', 'bias', 'running_mean', 'running_var')
RESNET_BLOCKS = {'r50': (3, 4, 6, 3), 'r101': (3, 4, 23, 3), 'r152': (3, 8, 36, 3)}
# MobileNet-v2: official layer2..layer8 = our layer1..layer7, blocks per layer
MBV2_BLOCKS = (1, 2, 3, 4, 3, 3, 1)
ARCHS = (*RESNET_BLOCKS, 'mbv2')
CRP_STAGES = 4


def _norm(mapping, src, dst):
    for name in NORM_TENSORS:
        mapping[f'{src}.{name}'] = f'{dst}.{name}'


def _crp(mapping, src, dst):
    for s in range(CRP_STAGES):
        mapping[f'{src}.0.{s + 1}_outvar_dimred.weight'] = f'{dst}.convs.{s}.conv.weight'


def _resnet_mapping(blocks):
    mapping = OrderedDict()
    mapping['conv1.weight'] = 'backbone.conv1.weight'
    _norm(mapping, 'bn1', 'backbone.bn1')
    for stage, num in enumerate(blocks, start=1):
        for block in range(num):
            prefix = f'layer{stage}.{block}'
            for k in (1, 2, 3):
                mapping[f'{prefix}.conv{k}.weight'] = f'backbone.{prefix}.conv{k}.weight'
                _norm(mapping, f'{prefix}.bn{k}', f'backbone.{prefix}.bn{k}')
            if block == 0:
                mapping[f'{prefix}.downsample.0.weight'] = f'backbone.{prefix}.downsample.0.weight'
                _norm(mapping, f'{prefix}.downsample.1', f'backbone.{prefix}.downsample.1')
    head = 'decode_head.stages'
    # official group g (1 = coarsest, 1/32) is our stage 4 - g (0 = finest, 1/4)
    for g in range(1, 5):
        stage = 4 - g
        mapping[f'p_ims1d2_outl{g}_dimred.weight'] = f'{head}.{stage}.inputs.0.0.conv.weight'
        if g > 1:
            mapping[f'adapt_stage{g}_b2_joint_varout_dimred.weight'] = (
                f'{head}.{stage}.inputs.0.1.conv.weight')
        _crp(mapping, f'mflow_conv_g{g}_pool', f'{head}.{stage}.crp')
        if g < 4:
            mapping[f'mflow_conv_g{g}_b3_joint_varout_dimred.weight'] = (
                f'{head}.{stage}.out_conv.conv.weight')
    mapping['clf_conv.weight'] = 'decode_head.conv_seg.weight'
    mapping['clf_conv.bias'] = 'decode_head.conv_seg.bias'
    return mapping


def _conv_bn(mapping, src, dst):
    """Official ``convbnrelu`` Sequential (0: conv, 1: BN) -> mmcv ConvModule."""
    mapping[f'{src}.0.weight'] = f'{dst}.conv.weight'
    _norm(mapping, f'{src}.1', f'{dst}.bn')


def _mbv2_mapping():
    mapping = OrderedDict()
    _conv_bn(mapping, 'layer1', 'backbone.conv1')
    for layer, num in enumerate(MBV2_BLOCKS, start=1):
        for block in range(num):
            src = f'layer{layer + 1}.{block}.output'
            dst = f'backbone.layer{layer}.{block}.conv'
            if layer == 1:
                # the toolbox's first block has no expansion conv: MobileNetV2LW's
                # layer1_expand holds it
                _conv_bn(mapping, f'{src}.0', 'backbone.layer1_expand')
                _conv_bn(mapping, f'{src}.1', f'{dst}.0')
                _conv_bn(mapping, f'{src}.2', f'{dst}.1')
            else:
                for m in range(3):
                    _conv_bn(mapping, f'{src}.{m}', f'{dst}.{m}')
    head = 'decode_head.stages'
    # (official input conv, our stage, position in the stage's group)
    for conv, stage, pos in (('conv3', 0, 0), ('conv4', 1, 0), ('conv5', 2, 0), ('conv6', 2, 1),
                             ('conv7', 3, 0), ('conv8', 3, 1)):
        mapping[f'{conv}.weight'] = f'{head}.{stage}.inputs.{pos}.0.conv.weight'
    for k in range(1, 5):
        _crp(mapping, f'crp{k}', f'{head}.{k - 1}.crp')
    for k in range(2, 5):
        mapping[f'conv_adapt{k}.weight'] = f'{head}.{k - 1}.out_conv.conv.weight'
    mapping['segm.weight'] = 'decode_head.conv_seg.weight'
    mapping['segm.bias'] = 'decode_head.conv_seg.bias'
    return mapping


def key_mapping(arch: str) -> OrderedDict:
    """Official key -> our key for one of ``ARCHS``."""
    if arch == 'mbv2':
        return _mbv2_mapping()
    return _resnet_mapping(RESNET_BLOCKS[arch])


def detect_arch(state: dict) -> str:
    """``'mbv2'`` from its ``segm`` classifier, ``'r50'``/``'r101'``/``'r152'`` from
    ``clf_conv`` and the backbone's block counts."""
    if 'segm.weight' in state:
        return 'mbv2'
    if 'clf_conv.weight' in state:
        blocks = count_blocks(state)
        for arch, arch_blocks in RESNET_BLOCKS.items():
            if blocks == arch_blocks:
                return arch
        raise ValueError(f'unknown RF-LW ResNet: blocks per stage {blocks}, known '
                         f'{RESNET_BLOCKS}')
    raise ValueError('unknown Light-Weight RefineNet state dict: neither clf_conv.weight '
                     '(RF-LW-ResNet) nor segm.weight (RF-LW-MobileNet-v2) is in it; pass --arch '
                     'to see which keys do not fit')


def convert(state: dict, arch: str = None):
    """Map an official RF-LW state dict to ours; returns (state dict, arch)."""
    state, arch = resolve_arch(state, arch, ARCHS, detect_arch)
    mapping = key_mapping(arch)
    check_keys(state, mapping, f'official RF-LW {arch}')
    return apply_key_mapping(state, mapping), arch


def main():
    run_converter_cli(
        convert,
        description='Convert an official Light-Weight RefineNet checkpoint (DrSleep/'
        'light-weight-refinenet) to an lrseg-mm checkpoint for the RF-LW configs.',
        archs=ARCHS,
        model_name=lambda arch: f'RF-LW-{arch}')


if __name__ == '__main__':
    main()
