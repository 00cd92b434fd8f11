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


def test_eager_goals_are_also_judged_with_bn_folded_into_every_model():
    import peer_table
    cpu = {('LRNNet', 'fp32'): [5, 5, 5], ('ERFNet', 'fp32'): [10, 10, 10],
           ('LRNNet', 'fp32-fused'): [4, 4, 4], ('ERFNet', 'fp32-fused'): [10, 10, 10]}
    goals = {(g['goal'], g['variant']): g for g in
             peer_table.deployment_goals(dict(cpu=cpu, wall={}), 'cpu')}
    assert not goals[('LRNNet <= 0.45 x ERFNet', 'fp32')]['met']  # 0.5
    fused = goals[('LRNNet <= 0.45 x ERFNet', 'fp32-fused')]
    assert fused['ratio'] == pytest.approx(0.4) and fused['met']
    # no folded CGNet times: that goal is left out, not judged against CGNet as built
    assert not any(g['variant'] == 'fp32-fused' and 'CGNet' in g['goal']
                   for g in goals.values())


def _fake_measurement(peer_table, monkeypatch):
    """Replace building and timing by two models with fixed per-round times."""
    def prepare(entries, *args, **kwargs):
        return {e.name: dict(entry=e, params=1000, macs=2000, runners={})
                for e in entries}

    def round_robin(prepared, *args, **kwargs):
        cpu = {(n, v): [0.1 * (i + 1)] * 3 for i, n in enumerate(prepared)
               for v in ('fp32', 'onnxruntime')}
        return dict(cpu=cpu, wall=cpu, rounds=3)

    monkeypatch.setattr(peer_table, 'prepare', prepare)
    monkeypatch.setattr(peer_table, 'round_robin', round_robin)
    monkeypatch.setattr(peer_table, 'plot', lambda *a, **k: pytest.fail('plot with --only'))


def test_only_rewrites_the_deployment_block_and_leaves_the_full_table(tmp_path, monkeypatch):
    import peer_table
    _fake_measurement(peer_table, monkeypatch)
    json_file = osp.join(REPO, 'benchmarks/peer_table_cpu.json')
    json_before = open(json_file).read() if osp.exists(json_file) else None
    out = tmp_path / 'BENCHMARKS.md'
    out.write_text('<!-- BEGIN peer-table-cpu -->\nFULL TABLE\n<!-- END peer-table-cpu -->\n'
                   '<!-- BEGIN deploy-backends-cpu -->\nold\n<!-- END deploy-backends-cpu -->\n')
    peer_table.main(['--device', 'cpu', '--only', 'LRNNet', 'CGNet', '--backends', 'pytorch',
                     'onnxruntime', '--no-svn', '--output', str(out)])
    text = out.read_text()
    assert 'FULL TABLE' in text and '\nold\n' not in text
    deploy = text.split('<!-- BEGIN deploy-backends-cpu -->')[1]
    assert '| LRNNet | 100 | 100 |' in deploy and '| CGNet | 200 | 200 |' in deploy
    assert (open(json_file).read() if osp.exists(json_file) else None) == json_before
