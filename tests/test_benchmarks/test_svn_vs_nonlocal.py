"""benchmarks.svn_vs_nonlocal: memory peaks and the report (no timed assertions)."""
import torch

from benchmarks import svn_vs_nonlocal


def test_peak_memory_sees_a_temporary_buffer():
    nbytes = 4 * 2**20
    peak = svn_vs_nonlocal.peak_memory(
        lambda: torch.empty(nbytes, dtype=torch.uint8).fill_(1), torch.device('cpu'))
    assert peak >= nbytes


def test_report_gives_each_ratio_beside_its_modules(monkeypatch):
    monkeypatch.setattr(svn_vs_nonlocal, 'MAP_SHAPE', (1, 128, 16, 32))
    res = svn_vs_nonlocal.run(rounds=1, warmup=0, progress=False)
    assert set(res['modules']) == {'SVNHead', 'NLHead', 'SVNBlock', 'NonLocal2d'}
    ratios = res['ratios']['SVNHead/NLHead']
    modules = res['modules']
    assert ratios['macs'] == modules['SVNHead']['macs'] / modules['NLHead']['macs']
    text = svn_vs_nonlocal.markdown(res)
    assert '| SVNBlock/NonLocal2d |' in text and 'MISSED' not in text
    assert 'goal' not in text
