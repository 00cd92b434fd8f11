"""tools/model_converters: official ShelfNet-lw and Light-Weight RefineNet state dicts (key
names and shapes from tests/data/official_layouts, written from the official module
definitions) convert into state dicts that load strictly into our configs, every official
tensor used exactly once."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmengine.runner.checkpoint import load_checkpoint

from helpers import REPO, build_segmentor, load_tool

LAYOUTS = osp.join(REPO, 'tests/data/official_layouts')
CONVERTERS = osp.join(REPO, 'tools/model_converters')
ABN_EPS = 1e-5


shelfnet2mmseg = load_tool('tools/model_converters/shelfnet2mmseg.py')
lwrefinenet2mmseg = load_tool('tools/model_converters/lwrefinenet2mmseg.py')
layouts = load_tool('tests/data/official_layouts/generate.py')

# layout -> (converter, arch it must detect, our config)
CASES = {
    'shelfnet18-lw': (shelfnet2mmseg, '18-lw',
                      'configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'),
    'shelfnet34-lw': (shelfnet2mmseg, '34-lw',
                      'configs/shelfnet/shelfnet34-lw_2xb7-80k_cityscapes-1024x1024.py'),
    'rf-lw-r50': (lwrefinenet2mmseg, 'r50',
                  'configs/lw_refinenet/lw-refinenet_r50_4xb4-40k_voc12aug-512x512.py'),
    'rf-lw-r101': (lwrefinenet2mmseg, 'r101',
                   'configs/lw_refinenet/lw-refinenet_r101_4xb4-40k_voc12aug-512x512.py'),
    'rf-lw-r152': (lwrefinenet2mmseg, 'r152',
                   'configs/lw_refinenet/lw-refinenet_r152_4xb4-40k_voc12aug-512x512.py'),
    'rf-lw-mbv2': (lwrefinenet2mmseg, 'mbv2',
                   'configs/lw_refinenet/lw-refinenet_mbv2_4xb4-40k_voc12aug-512x512.py'),
}
# the official decoder's inconv S-Block is built but never run; the converter drops it
DROPPED = 'decoder.inconv.'


def official_state_dict(name, seed=0):
    """Random tensors in the official layout; every tensor distinct, norm weights of both
    signs (InPlace-ABN weights may be negative), integer buffers distinct too."""
    g = torch.Generator().manual_seed(seed)
    with open(osp.join(LAYOUTS, f'{name}.json')) as f:
        entries = json.load(f)
    state = {}
    for i, (key, shape) in enumerate(entries):
        if key.endswith('num_batches_tracked'):
            state[key] = torch.tensor(1000 + i)
        else:
            state[key] = torch.randn(shape, generator=g)
    return state


def _fingerprint(t):
    return (tuple(t.shape), t.dtype, tuple(t.flatten()[:4].tolist()))


@pytest.mark.parametrize('layout', sorted(CASES))
def test_fixture_is_what_the_generator_writes(layout):
    with open(osp.join(LAYOUTS, f'{layout}.json')) as f:
        assert f.read() == layouts.render(layout)


@pytest.mark.parametrize('layout', sorted(CASES))
def test_official_layout_loads_strictly_every_tensor_used_once(layout):
    converter, arch, config = CASES[layout]
    source = official_state_dict(layout)
    converted, found = converter.convert(source)
    assert found == arch
    model = build_segmentor(config)
    model.load_state_dict(converted, strict=True)
    # Which official tensor ended up where: look every model tensor up among the sources,
    # as it is or, for the InPlace-ABN weights of ShelfNet, as |w| + eps.
    plain = {_fingerprint(v): k for k, v in source.items()}
    abn = {_fingerprint(v.abs() + ABN_EPS): k for k, v in source.items() if v.dim() == 1}
    uses = dict.fromkeys(source, 0)
    synthesized = []
    for key, value in model.state_dict().items():
        hit = plain.get(_fingerprint(value))
        if hit is None and converter is shelfnet2mmseg:
            hit = abn.get(_fingerprint(value))
        if hit is None:
            synthesized.append(key)
        else:
            uses[hit] += 1
    dropped = {k for k in source if k.startswith(DROPPED)} if converter is shelfnet2mmseg else set()
    assert {k for k, n in uses.items() if n != 1} == dropped
    assert all(uses[k] == 0 for k in dropped)
    # only the num_batches_tracked of norms the official layout has none for (InPlace-ABN)
    assert all(k.endswith('num_batches_tracked') for k in synthesized)
    assert all(model.state_dict()[k].item() == 0 for k in synthesized)
    if converter is lwrefinenet2mmseg:
        assert synthesized == []


def test_inplace_abn_gamma_rule():
    source = official_state_dict('shelfnet18-lw')
    # an InPlace-ABN weight (backbone stem), an ABN of an ARM and the S-Block's plain BN
    for key in ('backbone.bn1.weight', 'ladder.up_conv_list.0.bn_atten.weight',
                'decoder.bottom.bn2.weight'):
        source[key][0] = -0.75
    converted, _ = shelfnet2mmseg.convert(source)
    assert converted['backbone.bn1.weight'][0] == pytest.approx(0.75 + ABN_EPS, rel=1e-7)
    assert torch.equal(converted['backbone.bn1.weight'],
                       source['backbone.bn1.weight'].abs() + ABN_EPS)
    # the official list's first up step is the coarsest: our index 1
    assert converted['decode_head.ladder_up_convs.1.atten_conv_layer.1.bn.weight'][0] == \
        pytest.approx(0.75 + ABN_EPS, rel=1e-7)
    # S-Block bn2 is torch's BatchNorm2d in the official code: copied as it is
    assert converted['decode_head.decoder_bottom.norm2.weight'][0] == -0.75
    assert torch.equal(converted['decode_head.decoder_bottom.norm2.weight'],
                       source['decoder.bottom.bn2.weight'])
    # biases and statistics are never changed
    assert torch.equal(converted['backbone.bn1.bias'], source['backbone.bn1.bias'])


@pytest.mark.parametrize('wrap', ['state_dict', 'model', None])
def test_wrapped_and_prefixed_state_dicts(wrap):
    source = {f'module.{k}': v for k, v in official_state_dict('rf-lw-mbv2').items()}
    checkpoint = {wrap: source, 'epoch': 3} if wrap else source
    converted, arch = lwrefinenet2mmseg.convert(checkpoint)
    assert arch == 'mbv2'
    assert torch.equal(converted['decode_head.conv_seg.bias'], source['module.segm.bias'])


def test_missing_unknown_and_wrong_arch_are_named():
    source = official_state_dict('shelfnet18-lw')
    del source['ladder.bottom.conv1.bias']
    with pytest.raises(ValueError, match=r"1 missing keys \['ladder\.bottom\.conv1\.bias'\]"):
        shelfnet2mmseg.convert(source)
    source = official_state_dict('rf-lw-r50')
    source['aux.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"1 unknown keys \['aux\.weight'\]"):
        lwrefinenet2mmseg.convert(source)
    with pytest.raises(ValueError, match='r101 layout: 255 missing keys'):
        lwrefinenet2mmseg.convert(official_state_dict('rf-lw-r50'), arch='r101')
    with pytest.raises(ValueError, match='unknown ShelfNet variant'):
        shelfnet2mmseg.convert(official_state_dict('rf-lw-r50'))
    with pytest.raises(ValueError, match='neither clf_conv.weight'):
        lwrefinenet2mmseg.convert(official_state_dict('shelfnet18-lw'))
    with pytest.raises(ValueError, match="entry 'meta' is a str"):
        lwrefinenet2mmseg.convert({'meta': 'x', 'segm.weight': torch.zeros(1)})


@pytest.mark.parametrize('layout', ['shelfnet18-lw', 'rf-lw-mbv2'])
def test_command_line(layout, tmp_path):
    converter, arch, config = CASES[layout]
    src, dst = tmp_path / 'official.pth', tmp_path / 'out' / 'converted.pth'
    torch.save({'state_dict': official_state_dict(layout)}, src)
    script = osp.join(CONVERTERS, osp.basename(converter.__file__))
    result = subprocess.run([sys.executable, script, str(src), str(dst)], cwd=REPO,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert arch in result.stdout
    model = build_segmentor(config)
    load_checkpoint(model, str(dst), map_location='cpu', strict=True)
    bad = subprocess.run([sys.executable, script, str(src), str(dst), '--arch',
                          '34-lw' if layout.startswith('shelf') else 'r50'],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and 'missing keys' in bad.stderr
