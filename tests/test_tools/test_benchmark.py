"""tools/benchmark.py and tools/get_flops.py (no timed assertions)."""
import json
import os.path as osp
import re
import runpy
import sys

import pytest
import torch

from helpers import REPO
from lrseg_mm.apis import load_segmentor

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
    # the line mmseg's benchmark.py prints, at 2 decimals
    assert f"Overall fps: {data['toolbox_fps']:.2f} img / s" in printed
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
    model = load_segmentor(LRNNET, drop_auxiliary_heads=True)
    params = sum(p.numel() for p in model.parameters())
    assert f'Params: 681.44 K ({params:,}; auxiliary heads excluded)' in printed
    data = json.loads(out.read_text())
    assert data['params'] == params
    assert f"MACs (multiply-adds): {data['macs'] / 1e6:.2f} M ({data['macs']:,})" in printed
    # The power iteration's and attention's torch.bmm are counted next to the convs.
    assert set(data['macs_by_operator']) == {'conv', 'bmm'}
    assert data['macs'] == sum(data['macs_by_operator'].values())


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_benchmark_times_the_exported_graph_on_a_backend(backend, tmp_path, capsys):
    if backend == 'openvino':
        pytest.importorskip('openvino', reason='pip install openvino')
    out = tmp_path / 'bench.json'
    run_script('tools/benchmark.py', LRNNET, '--shape', '32', '64', '--backend', backend,
               '--threads', '1', '--iters', '2', '--warmup', '1', '--no-progress',
               '--json', str(out))
    data = json.loads(out.read_text())
    assert (data['backend'], data['threads'], data['iters'], data['device']) == (
        backend, 1, 2, 'cpu')
    assert f'backend: {backend}, 1 thread(s)' in capsys.readouterr().out


@pytest.mark.parametrize('flags,message', [
    (['--backend', 'openvino', '--fp16'], 'not with --fp16'),
    (['--backend', 'onnxruntime', '--mode', 'predict'], 'not with --mode predict'),
    (['--onnx', 'model.onnx'], '--onnx needs --backend onnxruntime or openvino'),
    (['--backend', 'onnxruntime', '--compile'], 'not with --compile'),
    (['--compile', '--warmup', '0'], '--compile needs --warmup >= 1'),
])
def test_benchmark_rejects_what_a_backend_cannot_run(flags, message, capsys):
    with pytest.raises(SystemExit):
        run_script('tools/benchmark.py', LRNNET, *flags)
    assert message in capsys.readouterr().err
