"""tools/benchmark.py and tools/get_flops.py (no timed assertions)."""
import json
import os.path as osp
import re
import runpy
import sys

import pytest
import torch

from helpers import REPO
from lrseg_mm.utils import build_segmentor_from_config, parse_toolbox_fps

LRNNET = 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'


def run_script(script, *args):
    """Run a tools/ script as __main__ in this process (saves a fresh interpreter)."""
    argv = sys.argv
    sys.argv = [script, *args]
    try:
        runpy.run_path(osp.join(REPO, script), run_name='__main__')
    finally:
        sys.argv = argv


def test_benchmark_toolbox_protocol_writes_consistent_json(tmp_path, capsys):
    out = tmp_path / 'bench.json'
    run_script('tools/benchmark.py', LRNNET, '--shape', '32', '64', '--device', 'cpu',
               '--toolbox-protocol', '--no-progress', '--json', str(out))
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    # mmseg benchmark.py's protocol: batch 1, 5 warm-up + 195 timed predict calls.
    assert (data['batch_size'], data['warmup'], data['iters'], data['mode']) == (1, 5, 195,
                                                                               'predict')
    assert len(data['times_ms']) == 195
    assert data['fps'] == pytest.approx(1000 / data['mean_ms'])
    # FPS = timed calls / their total time, i.e. 1000 / mean latency at batch 1.
    assert data['toolbox_fps'] == pytest.approx(data['fps'], rel=1e-9)
    fps = parse_toolbox_fps(printed)['overall'][0]
    assert abs(fps - data['toolbox_fps']) <= 0.005 + 1e-9
    assert data['params'] == 681_442
    assert re.search(r'latency over 195 calls \(5 warm-up\): mean [0-9.]+ ms \| median '
                     r'[0-9.]+ ms \| std [0-9.]+ ms', printed)


def test_benchmark_rejects_cuda_graph_without_cuda():
    if torch.cuda.is_available():
        pytest.skip('this machine has CUDA')
    with pytest.raises(ValueError, match='CUDA-graph replay needs --device cuda'):
        run_script('tools/benchmark.py', LRNNET, '--shape', '32', '64', '--cuda-graph',
                   '--device', 'cpu', '--iters', '1', '--warmup', '0', '--no-progress')


def test_get_flops_prints_the_models_parameters_and_macs(tmp_path, capsys):
    out = tmp_path / 'flops.json'
    run_script('tools/get_flops.py', LRNNET, '--shape', '64', '128', '--json', str(out))
    printed = capsys.readouterr().out
    model = build_segmentor_from_config(LRNNET, drop_auxiliary_heads=True)
    params = sum(p.numel() for p in model.parameters())
    assert f'Params: 681.44 K ({params:,}; auxiliary heads excluded)' in printed
    data = json.loads(out.read_text())
    assert data['params'] == params
    assert f"MACs (multiply-adds): {data['macs'] / 1e6:.2f} M ({data['macs']:,})" in printed
    # The power iteration's and attention's torch.bmm are counted next to the convs.
    assert set(data['macs_by_operator']) == {'conv', 'bmm'}
    assert data['macs'] == sum(data['macs_by_operator'].values())
