"""configs/lrnnet/metafile.yml and README.md state the counts these configs really have."""
import os.path as osp

import pytest
import torch
import yaml

from helpers import REPO, build_segmentor, count_params
from lrseg_mm.utils import count_macs

with open(osp.join(REPO, 'configs', 'lrnnet', 'metafile.yml')) as f:
    METAFILE = yaml.safe_load(f)
MODELS = {m['Name']: m for m in METAFILE['Models']}
with open(osp.join(REPO, 'configs', 'lrnnet', 'README.md')) as f:
    README = f.read()


def test_every_lrnnet_config_has_a_metafile_entry():
    import glob
    configs = {osp.splitext(osp.basename(p))[0]
               for p in glob.glob(osp.join(REPO, 'configs', 'lrnnet', '*.py'))}
    # the synthetic demo config is not a model-zoo entry
    assert set(MODELS) == {c for c in configs if 'synthetic' not in c}
    for model in MODELS.values():
        assert osp.isfile(osp.join(REPO, model['Config']))
        assert model['In Collection'] == 'LRNNet'


@pytest.mark.parametrize('name', sorted(MODELS))
def test_metafile_and_readme_parameters(name):
    params = MODELS[name]['Metadata']['Parameters']
    assert count_params(build_segmentor(MODELS[name]['Config'])) == params
    assert f'{params:,}' in README


@pytest.mark.parametrize('name', sorted(n for n in MODELS if 'cityscapes' in n))
def test_metafile_and_readme_macs_at_512x1024(name):
    # Every multiply-add of these models scales with the pixel count as long as the grids
    # divide the maps: at 64x128 the 1/8 map is 8x16, at 512x1024 it is 64x128, so each
    # conv, each region matrix and the attention are exactly 64 times smaller.
    macs = MODELS[name]['Metadata']['MACs (512x1024)']
    model = build_segmentor(MODELS[name]['Config']).eval()
    assert count_macs(model, torch.randn(1, 3, 64, 128)).macs * 64 == macs
    assert f'{macs / 1e9:.2f} G' in README


def test_paper_numbers_are_labelled_as_the_papers():
    c = MODELS['lrnnet_1xb8-160k_cityscapes-512x1024']
    assert c['Results']['Metrics'] == {'mIoU (reported in the paper, test)': 72.2}
    assert c['Weights'] is None
    text = ' '.join(README.split())
    assert "The mIoU and FPS columns are **the paper's numbers**" in text
    assert '72.2 | 71 |' in text  # Model C's row, in those columns


def test_shipped_weights_exist_and_their_figures_are_labelled_as_ours():
    shipped = {name: model for name, model in MODELS.items() if model['Weights']}
    assert set(shipped) == {'lrnnet_1xb8-40k_camvid-360x480'}
    for model in shipped.values():
        assert osp.isfile(osp.join(REPO, model['Weights']))
        assert all('(ours' in metric for metric in model['Results']['Metrics'])
