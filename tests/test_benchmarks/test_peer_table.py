"""benchmarks.peer_table: ratios of our models to their peers, and what is written."""
import os.path as osp

import pytest

from benchmarks import peer_table
from helpers import REPO
from lrseg_mm.utils import RoundRobinTimes


def _times(cpu):
    """Round-robin times whose wall clock equals the CPU clock (seconds per round)."""
    series = {f'{m}|{v}': s for (m, v), s in cpu.items()}
    return RoundRobinTimes(series, dict(series), rounds=3)


def _prepared(names):
    return {n: dict(entry=next(e for e in peer_table.ENTRIES if e.name == n), params=1000,
                    macs=2000, calls={}) for n in names}


def test_ratios_pair_rounds_and_report_each_deployment():
    cpu = {('LRNNet', 'fp32'): [4, 4, 4], ('LRNNet', 'onnxruntime'): [1, 3, 1],
           ('CGNet', 'onnxruntime'): [2, 2, 2], ('ERFNet', 'fp32'): [10, 10, 5],
           ('LRNNet', 'onnxruntime-int8'): [0.5, 3, 0.5]}
    summary = peer_table.summarise(_prepared(['LRNNet', 'CGNet', 'ERFNet']), _times(cpu), 'cpu')
    ratios = {(r['peer'], r['variant']): r['ratio'] for r in summary['ratios']}
    assert ratios[('ERFNet', 'fp32')] == pytest.approx(0.4)  # rounds .4 .4 .8
    assert ratios[('CGNet', 'onnxruntime')] == pytest.approx(0.5)
    assert ratios[('LRNNet eager', 'onnxruntime')] == pytest.approx(0.25)
    assert ratios[('LRNNet fp32, same backend', 'onnxruntime-int8')] == pytest.approx(0.5)
    # no CGNet eager, no ShelfNet at all: those ratios are left out, not guessed
    assert ('CGNet', 'fp32') not in ratios and 'BiSeNetV1-R18' not in {p for p, _ in ratios}
    text = peer_table.markdown(summary, 'cpu', None)
    assert '| LRNNet | ERFNet | pytorch | 0.400 | 0.400 |' in text
    assert 'met' not in text.split() and 'MISSED' not in text


def test_only_rewrites_the_deployment_section_and_leaves_the_full_table(tmp_path,
                                                                        monkeypatch):
    def prepare(entries, *args, **kwargs):
        return _prepared([e.name for e in entries])

    def measure(prepared, *args, **kwargs):
        return _times({(n, v): [0.1 * (i + 1)] * 3 for i, n in enumerate(prepared)
                       for v in ('fp32', 'onnxruntime')})

    monkeypatch.setattr(peer_table, 'prepare', prepare)
    monkeypatch.setattr(peer_table, 'measure', measure)
    monkeypatch.setattr(peer_table, 'plot', lambda *a, **k: pytest.fail('plot with --only'))
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
    assert '| LRNNet | CGNet | onnxruntime | 0.500 | 0.500 |' in deploy
    assert (open(json_file).read() if osp.exists(json_file) else None) == json_before


def test_prepare_builds_the_eager_and_deployed_calls_of_a_model(tmp_path):
    pytest.importorskip('onnxruntime')
    lrnnet = next(e for e in peer_table.ENTRIES if e.name == 'LRNNet')
    entry = peer_table.Entry('small LRNNet', lrnnet.config, (64, 128), ours=True)
    logged = []
    prepared = peer_table.prepare([entry], 'cpu', backends=('pytorch', 'onnxruntime'),
                                  onnx_dir=str(tmp_path), log=logged.append)
    assert logged and logged[0].startswith('small LRNNet: 681.44 K params')
    item = prepared['small LRNNet']
    assert set(item['calls']) == {'fp32', 'onnxruntime'}  # not a compared model: no transforms
    assert item['params'] == 681_442 and item['macs'] > 0
    times = peer_table.measure(prepared, rounds=1, warmup=0, budget_s=None, log=logged.append)
    assert len(logged) == 1  # no call failed
    summary = peer_table.summarise(prepared, times, 'cpu')
    assert set(summary['rows']['small LRNNet']['variants']) == {'fp32', 'onnxruntime'}
