"""lrseg_mm.utils.state_dict_conversion: what the checkpoint converters share (unwrapping,
block counting, key checks, the key mapping and the command line)."""
import re
from collections import OrderedDict

import pytest
import torch

from lrseg_mm.utils import (apply_key_mapping, check_keys, count_blocks, resolve_arch,
                            run_converter_cli, unwrap_state_dict)


def _norm_state(prefix, tracked=None):
    state = OrderedDict((f'{prefix}.{name}', torch.rand(3))
                        for name in ('weight', 'bias', 'running_mean', 'running_var'))
    if tracked is not None:
        state[f'{prefix}.num_batches_tracked'] = torch.tensor(tracked)
    return state


# unwrap_state_dict

@pytest.mark.parametrize('wrap', ['state_dict', 'model', None])
def test_unwrap_removes_wrapper_and_module_prefix(wrap):
    a, b = torch.zeros(2), torch.ones(3)
    source = OrderedDict([('module.conv.weight', a), ('head.bias', b)])
    checkpoint = {wrap: source, 'epoch': 3, 'meta': {'x': 1}} if wrap else source
    state = unwrap_state_dict(checkpoint)
    assert list(state) == ['conv.weight', 'head.bias']
    assert state['conv.weight'] is a and state['head.bias'] is b


def test_unwrap_prefers_state_dict_and_strips_one_prefix_only():
    inner = {'module.module.x': torch.zeros(1)}
    state = unwrap_state_dict({'state_dict': inner, 'model': {'y': torch.zeros(1)}})
    assert list(state) == ['module.x']
    # a 'model' entry that is no dict is not a wrapper: it is an entry of a bare state dict
    with pytest.raises(ValueError, match=r"entry 'model' is a str"):
        unwrap_state_dict({'model': 'resnet', 'w': torch.zeros(1)})


def test_unwrap_names_a_non_tensor_entry_and_the_source():
    with pytest.raises(ValueError,
                       match=r"^ckpt\.pth: entry 'module\.meta' is a int, not a tensor"):
        unwrap_state_dict({'state_dict': {'w': torch.zeros(1), 'module.meta': 7}}, 'ckpt.pth')
    with pytest.raises(ValueError, match=r'^checkpoint: expected a state dict, got list'):
        unwrap_state_dict([torch.zeros(1)])


# resolve_arch

def test_resolve_arch_unwraps_detects_and_rejects_unknown_archs():
    seen = []

    def detect(state):
        seen.append(list(state))
        return 'small'

    checkpoint = {'state_dict': {'module.w': torch.zeros(1)}}
    state, arch = resolve_arch(checkpoint, None, ['big', 'small'], detect)
    assert (list(state), arch, seen) == (['w'], 'small', [['w']])
    # an arch asked for is not detected
    assert resolve_arch(checkpoint, 'big', ['big', 'small'], detect)[1] == 'big'
    assert len(seen) == 1
    with pytest.raises(ValueError,
                       match=r"^unknown arch 'huge'; choose one of \['big', 'small'\]$"):
        resolve_arch(checkpoint, 'huge', ('big', 'small'), detect)
    with pytest.raises(ValueError, match=r"unknown arch 'small'; choose one of \['big'\]"):
        resolve_arch(checkpoint, None, ['big'], detect)


# count_blocks

def test_count_blocks_per_stage_with_and_without_prefix():
    keys = [f'backbone.layer{stage}.{block}.conv{k}.weight'
            for stage, num in enumerate((2, 3, 1), start=1)
            for block in range(num) for k in (1, 2)]
    keys += ['backbone.layer2.0.downsample.0.weight', 'backbone.layer1.0.bn1.weight']
    assert count_blocks(keys, prefix='backbone.') == (2, 3, 1, 0)
    assert count_blocks(keys, prefix='backbone.', stages=2) == (2, 3)
    # without the prefix the keys do not match: counting is anchored at the key's start
    assert count_blocks(keys) == (0, 0, 0, 0)
    # a dict counts its keys; the prefix is literal, not a pattern
    state = {'layer1.0.conv1.weight': 0, 'layer1.10.conv1.weight': 0, 'xlayer1.1.conv1.weight': 0}
    assert count_blocks(state) == (2, 0, 0, 0)
    assert count_blocks({'aXlayer1.0.conv1.weight': 0}, prefix='a.') == (0, 0, 0, 0)


# check_keys

def test_check_keys_accepts_exact_fit_and_optional_num_batches_tracked():
    state = _norm_state('bn', tracked=5)
    state['conv.weight'] = torch.zeros(1)
    check_keys(state, [k for k in state if 'num_batches' not in k], 'official X')
    # a dropped key may be there, and so may its norm's num_batches_tracked
    state.update(_norm_state('unused_bn', tracked=1))
    check_keys(state, ['conv.weight', *(k for k in _norm_state('bn'))], 'official X',
               dropped=_norm_state('unused_bn'))


def test_check_keys_names_missing_and_unknown_keys():
    state = OrderedDict([('a.weight', torch.zeros(1)), ('extra.weight', torch.zeros(1))])
    with pytest.raises(ValueError) as err:
        check_keys(state, ['a.weight', 'b.weight'], 'official Net-7')
    assert str(err.value) == ("state dict does not fit the official Net-7 layout: 1 missing "
                              "keys ['b.weight'], 1 unknown keys ['extra.weight']")
    # num_batches_tracked is only optional for norms (keys with a running_var)
    with pytest.raises(ValueError, match=r"1 unknown keys \['conv\.num_batches_tracked'\]"):
        check_keys({'conv.weight': torch.zeros(1), 'conv.num_batches_tracked': torch.tensor(0)},
                   ['conv.weight'], 'official X')


def test_check_keys_shows_at_most_eight_keys_of_each():
    mapped = [f'k{i:02d}' for i in range(10)]
    with pytest.raises(ValueError) as err:
        check_keys({}, mapped, 'official X')
    message = str(err.value)
    assert f'10 missing keys {mapped[:8]} ...' in message
    assert 'k08' not in message
    assert message.endswith('0 unknown keys []')


# apply_key_mapping

def test_apply_key_mapping_renames_clones_and_keeps_order():
    state = _norm_state('src_bn', tracked=42)
    state['src_conv.weight'] = torch.rand(2, 2)
    mapping = OrderedDict([('src_conv.weight', 'dst.conv.weight')])
    mapping.update((k, k.replace('src_bn', 'dst.bn')) for k in _norm_state('src_bn'))
    out = apply_key_mapping(state, mapping)
    assert list(out) == ['dst.conv.weight', 'dst.bn.weight', 'dst.bn.bias',
                         'dst.bn.running_mean', 'dst.bn.running_var',
                         'dst.bn.num_batches_tracked']
    for src, dst in mapping.items():
        assert torch.equal(out[dst], state[src])
        assert out[dst].data_ptr() != state[src].data_ptr()
    assert out['dst.bn.num_batches_tracked'].item() == 42
    # the source is left as it was
    assert list(state)[-1] == 'src_conv.weight' and len(state) == 6


def test_apply_key_mapping_synthesises_missing_num_batches_tracked():
    state = _norm_state('bn')
    out = apply_key_mapping(state, {k: f'ours.{k}' for k in state})
    tracked = out['ours.bn.num_batches_tracked']
    assert tracked.dtype == torch.long and tracked.dim() == 0 and tracked.item() == 0


def test_apply_key_mapping_transform_gets_the_source_key():
    state = {'a': torch.tensor([-1.0, 2.0]), 'b': torch.tensor([-3.0])}
    seen = []

    def transform(src, value):
        seen.append(src)
        return value.abs() if src == 'a' else value * 10

    out = apply_key_mapping(state, {'a': 'x', 'b': 'y'}, transform)
    assert seen == ['a', 'b']
    assert out['x'].tolist() == [1.0, 2.0] and out['y'].tolist() == [-30.0]
    assert state['a'].tolist() == [-1.0, 2.0]


def test_apply_key_mapping_rejects_two_sources_for_one_key():
    state = {'a': torch.zeros(1), 'b': torch.zeros(1)}
    with pytest.raises(ValueError, match=r"'b' maps to 'x', which another key already maps"):
        apply_key_mapping(state, {'a': 'x', 'b': 'x'})
    with pytest.raises(KeyError, match='c'):
        apply_key_mapping(state, {'c': 'x'})


# run_converter_cli

def _convert(state, arch):
    return OrderedDict((f'ours.{k}', v * 2) for k, v in state.items()), arch or 'auto'


@pytest.mark.parametrize('arch', [None, 'b'])
def test_cli_loads_converts_and_saves(arch, tmp_path, capsys):
    src, dst = tmp_path / 'official.pth', tmp_path / 'new' / 'dir' / 'out.pth'
    torch.save({'model': {'module.w': torch.ones(2)}, 'epoch': 1}, src)
    argv = [str(src), str(dst)] + (['--arch', arch] if arch else [])
    run_converter_cli(_convert, 'test converter', ['a', 'b'], lambda a: f'Net-{a}', argv=argv)
    saved = torch.load(dst, map_location='cpu')
    assert list(saved['state_dict']) == ['ours.w']
    assert saved['state_dict']['ours.w'].tolist() == [2.0, 2.0]
    name = f'Net-{arch or "auto"}'
    assert saved['meta'] == dict(converted_from=str(src), arch=name)
    # mmengine's logger may print a loading line first
    assert capsys.readouterr().out.splitlines()[-1] == f'{name}: 1 tensors written to {dst}'


def test_cli_rejects_unknown_arch_and_names_bad_source(tmp_path, capsys):
    src = tmp_path / 'official.pth'
    torch.save({'state_dict': {'w': torch.ones(1), 'step': 'x'}}, src)
    with pytest.raises(SystemExit):
        run_converter_cli(_convert, 'd', ['a'], str, argv=[str(src), 'o.pth', '--arch', 'z'])
    assert "invalid choice: 'z'" in capsys.readouterr().err
    with pytest.raises(ValueError, match='^' + re.escape(f"{src}: entry 'step' is a str")):
        run_converter_cli(_convert, 'd', ['a'], str, argv=[str(src), str(tmp_path / 'o.pth')])
    assert not (tmp_path / 'o.pth').exists()
