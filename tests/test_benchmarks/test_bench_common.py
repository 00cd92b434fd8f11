"""benchmarks/bench_common.py: the benchmark scripts' own helpers."""
import copy
import os.path as osp
import sys

import pytest
import torch
import torch.nn as nn

from helpers import REPO, count_bn, randomise_bn
from tolerances import assert_within_rounding

sys.path.insert(0, osp.join(REPO, 'benchmarks'))  # as when the scripts run
from bench_common import (PEER_FUSERS, paired_ratio, peak_cpu_memory,  # noqa: E402
                          replace_marked_block)
from lrseg_mm.utils import fuse_conv_bn  # noqa: E402


def test_paired_ratio_is_median_of_round_ratios():
    assert paired_ratio([1, 2, 9], [2, 2, 3]) == pytest.approx(1.0)  # ratios .5, 1, 3
    with pytest.raises(ValueError):
        paired_ratio([1], [1, 2])


def test_replace_marked_block_keeps_hand_written_text():
    text = 'intro\n<!-- BEGIN t -->\nold\n<!-- END t -->\noutro\n'
    out = replace_marked_block(text, 't', 'new')
    assert out == 'intro\n<!-- BEGIN t -->\nnew\n<!-- END t -->\noutro\n'
    appended = replace_marked_block('intro\n', 'u', 'x')
    assert appended == 'intro\n\n<!-- BEGIN u -->\nx\n<!-- END u -->\n'


def test_peak_cpu_memory_sees_a_temporary_buffer():
    nbytes = 4 * 2**20
    peak = peak_cpu_memory(lambda: torch.empty(nbytes, dtype=torch.uint8).fill_(1))
    assert peak >= nbytes


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


def test_deployment_goals_pair_rounds_and_mark_the_best_backend():
    import peer_table
    # per-round CPU seconds of one round-robin (3 rounds)
    cpu = {('LRNNet', 'fp32'): [4, 4, 4], ('LRNNet', 'onnxruntime'): [1, 3, 1],
           ('LRNNet', 'openvino'): [3, 3, 3], ('CGNet', 'onnxruntime'): [2, 2, 2],
           ('ERFNet', 'fp32'): [10, 10, 5], ('LRNNet', 'onnxruntime-int8'): [0.5, 3, 0.5]}
    goals = {(g['goal'], g['variant']): g for g in
             peer_table.deployment_goals(dict(cpu=cpu, wall={}), 'cpu')}
    erfnet = goals[('LRNNet <= 0.45 x ERFNet', 'fp32')]
    assert erfnet['ratio'] == pytest.approx(0.4) and erfnet['met']  # rounds .4 .4 .8
    cgnet = goals[('LRNNet <= 0.8 x CGNet', 'onnxruntime')]
    assert cgnet['ratio'] == pytest.approx(0.5) and cgnet['met'] and cgnet['best']
    own = goals[('LRNNet openvino <= 0.5 x LRNNet eager', 'openvino')]
    assert own['ratio'] == pytest.approx(0.75) and not own['met'] and not own['best']
    int8 = goals[('LRNNet INT8 <= 0.6 x LRNNet fp32, same backend', 'onnxruntime-int8')]
    assert int8['ratio'] == pytest.approx(0.5) and int8['met']
    # no CGNet on openvino, no ShelfNet at all: those goals are left out, not guessed
    assert ('LRNNet <= 0.8 x CGNet', 'openvino') not in goals
    assert not any('ShelfNet' in goal for goal, _ in goals)
