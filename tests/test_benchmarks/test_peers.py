"""benchmarks.peers: the compared models and how their BN is folded."""
import copy

import pytest
import torch

from benchmarks.peers import ENTRIES, PEER_FUSERS, RandomCalibrationReader
from helpers import count_bn, randomise_bn
from lrseg_mm.utils import fuse_conv_bn
from tolerances import assert_within_rounding


@pytest.mark.parametrize('block_name', ['erfnet', 'cgnet'])
def test_peer_fusers_fold_the_toolbox_blocks(block_name):
    from mmseg.models.backbones.cgnet import ContextGuidedBlock
    from mmseg.models.backbones.erfnet import NonBottleneck1d
    block, channels = dict(erfnet=(NonBottleneck1d(16), 16),
                           cgnet=(ContextGuidedBlock(32, 32), 32))[block_name]
    randomise_bn(block).eval()
    generic_only = copy.deepcopy(block)
    fuse_conv_bn(generic_only)
    assert count_bn(generic_only) > 0  # the package's generic rules do not know the block
    x = torch.randn(1, channels, 12, 12)
    with torch.no_grad():
        before = block(x)
        fuse_conv_bn(block, extra_fusers=PEER_FUSERS)
        after = block(x)
    assert count_bn(block) == 0
    # float32 both ways: each folded conv sums channels x 3 terms, a few layers deep
    assert_within_rounding(after, before, depth=6, fan_in=channels * 9)


def test_entries_have_unique_names_and_the_papers_resolutions():
    names = [e.name for e in ENTRIES]
    assert len(set(names)) == len(names)
    assert {tuple(e.shape) for e in ENTRIES} == {(512, 1024), (512, 512)}


def test_calibration_reader_gives_its_batches_once_per_rewind():
    reader = RandomCalibrationReader((8, 16), num=2)
    batches = [reader.get_next() for _ in range(3)]
    assert batches[2] is None and batches[0]['img'].shape == (1, 3, 8, 16)
    reader.rewind()
    assert (reader.get_next()['img'] == batches[0]['img']).all()
