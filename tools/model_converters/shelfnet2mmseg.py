# Copyright (c) lrseg-mm contributors. Licensed under the Apache License 2.0.
"""Convert an official ShelfNet-lw checkpoint to lrseg-mm's ShelfNet18-lw / 34-lw configs.

The official real-time models (github.com/juntang-zhuang/ShelfNet-lw-cityscapes) store
InPlace-ABN layers (``weight``, ``bias``, ``running_mean``, ``running_var``) whose kernel scales
by ``|weight| + eps`` (eps = 1e-5), not by ``weight``. Every InPlace-ABN weight is therefore
written as ``|weight| + 1e-5`` for our BN layers; the S-Blocks' second norm is a plain
``BatchNorm2d`` in the official code and is copied as it is. The official decoder's
``inconv`` S-Block is built but never run: its weights are dropped. Norm layers without a
``num_batches_tracked`` buffer (InPlace-ABN has none) get 0.

Usage::

    python tools/model_converters/shelfnet2mmseg.py SRC DST [--arch {18-lw,34-lw}]

SRC is the official state dict (bare, or under ``state_dict`` / ``model``, keys with or
without a ``module.`` prefix); DST an mmengine checkpoint whose ``state_dict`` loads with
``strict=True`` into ``configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py`` or
``shelfnet34-lw_2xb7-80k_cityscapes-1024x1024.py``.
"""
from collections import OrderedDict

from lrseg_mm.utils import (apply_key_mapping, check_keys, count_blocks, resolve_arch,
                            run_converter_cli)

ABN_EPS = 1e-5  # InPlace-ABN's default eps, the one the official models use
NORM_TENSORS = ('weight', 'bias', 'running_mean', 'running_var')
# arch: (ResNet depth, blocks per stage, shelf base width, lateral 1x1 convs)
ARCHS = {
    '18-lw': (18, (2, 2, 2, 2), 64, True),
    '34-lw': (34, (3, 4, 6, 3), 128, False),
}
LEVELS = 3  # shelf levels (1/8, 1/16, 1/32)


def _norm(mapping, src, dst, abn):
    for name in NORM_TENSORS:
        mapping[f'{src}.{name}'] = (f'{dst}.{name}', abn and name == 'weight')


def _conv_norm(mapping, src, dst, abn=True):
    """Official ConvBNReLU (``conv``, ``bn``) -> mmcv ConvModule (``conv``, ``bn``)."""
    mapping[f'{src}.conv.weight'] = (f'{dst}.conv.weight', False)
    _norm(mapping, f'{src}.bn', f'{dst}.bn', abn)


def _s_block(mapping, src, dst):
    """Official ShelfBlock.BasicBlock (one shared conv1, InPlace-ABN bn1, BN bn2) -> SBlock."""
    mapping[f'{src}.conv1.weight'] = (f'{dst}.conv.weight', False)
    mapping[f'{src}.conv1.bias'] = (f'{dst}.conv.bias', False)
    _norm(mapping, f'{src}.bn1', f'{dst}.norm1', abn=True)
    _norm(mapping, f'{src}.bn2', f'{dst}.norm2', abn=False)


def _arm(mapping, src, dst):
    """Official AttentionRefinementModule -> mmseg's (BiSeNetV1) AttentionRefinementModule."""
    _conv_norm(mapping, f'{src}.conv', f'{dst}.conv_layer')
    mapping[f'{src}.conv_atten.weight'] = (f'{dst}.atten_conv_layer.1.conv.weight', False)
    _norm(mapping, f'{src}.bn_atten', f'{dst}.atten_conv_layer.1.bn', abn=True)


def key_mapping(arch: str):
    """Official key -> (our key, apply the InPlace-ABN rule), and the dropped keys."""
    depth, blocks, planes, lateral = ARCHS[arch]
    mapping = OrderedDict()
    # backbone: torchvision names on both sides, every norm an InPlace-ABN
    mapping['backbone.conv1.weight'] = ('backbone.conv1.weight', False)
    _norm(mapping, 'backbone.bn1', 'backbone.bn1', abn=True)
    for stage, num in enumerate(blocks, start=1):
        for block in range(num):
            prefix = f'backbone.layer{stage}.{block}'
            for k in (1, 2):
                mapping[f'{prefix}.conv{k}.weight'] = (f'{prefix}.conv{k}.weight', False)
                _norm(mapping, f'{prefix}.bn{k}', f'{prefix}.bn{k}', abn=True)
            if block == 0 and stage > 1:
                mapping[f'{prefix}.downsample.0.weight'] = (f'{prefix}.downsample.0.weight',
                                                            False)
                _norm(mapping, f'{prefix}.downsample.1', f'{prefix}.downsample.1', abn=True)
    head = 'decode_head'
    if lateral:
        for level in range(LEVELS):
            _conv_norm(mapping, f'trans{level + 1}', f'{head}.lateral_convs.{level}')
    # the official lists go coarse to fine (index 0 = coarsest up step), ours fine to coarse
    for column, ours in (('decoder', 'decoder'), ('ladder', 'ladder')):
        _s_block(mapping, f'{column}.bottom', f'{head}.{ours}_bottom')
        for j in range(LEVELS - 1):
            _arm(mapping, f'{column}.up_conv_list.{j}', f'{head}.{ours}_up_convs.{LEVELS - 2 - j}')
            _conv_norm(mapping, f'{column}.up_dense_list.{j}',
                       f'{head}.{ours}_fuses.{LEVELS - 2 - j}')
    _s_block(mapping, 'ladder.inconv', f'{head}.ladder_in')
    for i in range(LEVELS - 1):
        _s_block(mapping, f'ladder.down_module_list.{i}', f'{head}.ladder_down_blocks.{i}')
        for name in ('weight', 'bias'):
            mapping[f'ladder.down_conv_list.{i}.{name}'] = (
                f'{head}.ladder_down_convs.{i}.conv.{name}', False)
    for src, conv, seg in (('conv_out', 'convs.0', 'conv_seg'),
                           ('conv_out16', 'aux_classifiers.0.0', 'aux_classifiers.0.1'),
                           ('conv_out32', 'aux_classifiers.1.0', 'aux_classifiers.1.1')):
        _conv_norm(mapping, f'{src}.conv', f'{head}.{conv}')
        mapping[f'{src}.conv_out.weight'] = (f'{head}.{seg}.weight', False)
    dropped = OrderedDict()
    _s_block(dropped, 'decoder.inconv', 'unused')
    return mapping, set(dropped)


def detect_arch(state: dict) -> str:
    """``'18-lw'`` or ``'34-lw'`` from the backbone's block counts and the lateral convs."""
    blocks = count_blocks(state, prefix='backbone.')
    lateral = any(k.startswith('trans1.') for k in state)
    for arch, (_, arch_blocks, _, arch_lateral) in ARCHS.items():
        if blocks == arch_blocks and lateral == arch_lateral:
            return arch
    raise ValueError(
        f'unknown ShelfNet variant: backbone blocks per stage {blocks}, lateral '
        f'trans convs {"present" if lateral else "absent"}; known: ShelfNet18-lw (ResNet-18 '
        '(2, 2, 2, 2) with trans1..3) and ShelfNet34-lw (ResNet-34 (3, 4, 6, 3) without). '
        'Pass --arch to force one and see which keys do not fit.')


def convert(state: dict, arch: str = None):
    """Map an official ShelfNet-lw state dict to ours; returns (state dict, arch)."""
    state, arch = resolve_arch(state, arch, sorted(ARCHS), detect_arch)
    mapping, dropped = key_mapping(arch)
    # InPlace-ABN has no num_batches_tracked, BatchNorm2d (S-Blocks' bn2) has since PyTorch
    # 0.4.1: check_keys accepts it on any norm, never requires it
    check_keys(state, mapping, f'official ShelfNet{arch}', dropped)
    width = state['decoder.bottom.conv1.weight'].shape[0]
    if width != 4 * ARCHS[arch][2]:
        raise ValueError(f'ShelfNet{arch} has a {4 * ARCHS[arch][2]}-wide shelf bottom, the '
                         f'state dict a {width}-wide one (decoder.bottom.conv1.weight)')
    abn = {src for src, (_, is_abn) in mapping.items() if is_abn}
    out = apply_key_mapping(
        state, OrderedDict((src, dst) for src, (dst, _) in mapping.items()),
        lambda src, value: value.abs() + ABN_EPS if src in abn else value.clone())
    return out, arch


def main():
    run_converter_cli(
        convert,
        description='Convert an official ShelfNet-lw checkpoint (juntang-zhuang/'
        'ShelfNet-lw-cityscapes) to an lrseg-mm checkpoint for the ShelfNet18-lw / 34-lw '
        'configs.',
        archs=sorted(ARCHS),
        model_name=lambda arch: f'ShelfNet{arch}',
        arch_help='variant (default: found from the keys and shapes)')


if __name__ == '__main__':
    main()
