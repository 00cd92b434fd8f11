"""lrseg_mm.deploy.backends: the same logits on every backend, and clear errors."""
import json
import os
import os.path as osp
import sys

import numpy as np
import pytest
import torch

from helpers import REPO
from lrseg_mm.apis import load_segmentor
from lrseg_mm.deploy import (SegmentorForExport, build_backend, cached_export,
                             calibrate_untrained, float32_rounding_error, import_backend,
                             onnxruntime_session, openvino_compiled_model, random_images)

LRNNET = 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'
SHAPE = (64, 128)
# Both runtimes and PyTorch round in float32 with their own kernels: each is off the
# float64 logits by about PyTorch's own float32 error, so they differ by a few times it
# (the factor of tests/test_deploy/test_export.py); a wrong graph differs by the
# logits' scale (> 1 here).
ROUNDING_FACTOR = 4


@pytest.fixture(scope='module')
def model():
    return calibrate_untrained(load_segmentor(osp.join(REPO, LRNNET)), SHAPE)


@pytest.fixture(scope='module')
def onnx_file(model, tmp_path_factory):
    return cached_export(model, SHAPE, cache_dir=str(tmp_path_factory.mktemp('deploy')))


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_backend_logits_equal_pytorch_within_float32_rounding(backend, model, onnx_file):
    if backend == 'openvino':
        pytest.importorskip('openvino', reason='pip install openvino')
    img = random_images(1, SHAPE, seed=0)
    with torch.no_grad():
        expected = SegmentorForExport(model)(img).numpy()
    actual = build_backend(backend, onnx_file=onnx_file, threads=1)(img)
    assert actual.shape == (1, 19, *SHAPE)
    assert np.abs(expected).max() > 1, 'logits too small to tell a wrong graph'
    bound = ROUNDING_FACTOR * float32_rounding_error(model, SHAPE, seed=0)
    assert np.abs(actual - expected).max() <= bound, (backend, bound)


def test_backend_exports_once(model, tmp_path):
    first = cached_export(model, SHAPE, cache_dir=str(tmp_path))
    assert cached_export(model, SHAPE, cache_dir=str(tmp_path)) == first
    deployed = build_backend('onnxruntime', model, SHAPE, threads=1, cache_dir=str(tmp_path))
    assert deployed.onnx_file == first and deployed.threads == 1
    assert deployed(random_images(1, SHAPE)).shape == (1, 19, *SHAPE)
    assert len(list(tmp_path.iterdir())) == 1  # no second export, no partial file left


def test_profiled_sessions_record_their_nodes(onnx_file):
    img = random_images(1, SHAPE).numpy()
    session = onnxruntime_session(onnx_file, threads=1, profile=True)
    session.run(None, {'img': img})
    trace = session.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    os.remove(trace)
    assert any(e.get('args', {}).get('op_name') == 'Conv' for e in events)
    pytest.importorskip('openvino', reason='pip install openvino')
    request = openvino_compiled_model(onnx_file, threads=1, profile=True).create_infer_request()
    request.infer({0: img})
    assert any(node.node_type == 'Convolution' for node in request.profiling_info)


def test_unknown_backend_is_a_clear_error(model):
    with pytest.raises(ValueError, match="unknown backend 'tensorrt'; choose one of pytorch, "
                       'onnxruntime, openvino'):
        build_backend('tensorrt', model, SHAPE)
    with pytest.raises(ValueError, match='unknown backend'):
        import_backend('ONNXRuntime')
    with pytest.raises(ValueError, match="backend 'pytorch' is the segmentor itself"):
        build_backend('pytorch', model, SHAPE)


def test_missing_openvino_says_how_to_install(model, monkeypatch):
    monkeypatch.setitem(sys.modules, 'openvino', None)  # makes `import openvino` fail
    with pytest.raises(ImportError, match='pip install openvino'):
        build_backend('openvino', model, SHAPE)


def test_bad_input_and_arguments_are_rejected(model, onnx_file):
    deployed = build_backend('onnxruntime', onnx_file=onnx_file)
    with pytest.raises(ValueError, match=r'expected a \(N, 3, H, W\) image batch'):
        deployed(np.zeros((3, *SHAPE), np.float32))
    with pytest.raises(ValueError, match='threads must be >= 1'):
        build_backend('onnxruntime', onnx_file=onnx_file, threads=0)
    with pytest.raises(ValueError, match='needs an onnx_file, or a segmentor'):
        build_backend('onnxruntime')
    with pytest.raises(FileNotFoundError, match='missing.onnx'):
        build_backend('onnxruntime', onnx_file='missing.onnx')


def test_openvino_runs_an_ir_and_onnxruntime_refuses_one(onnx_file, tmp_path):
    ov = pytest.importorskip('openvino', reason='pip install openvino')
    ir = str(tmp_path / 'model.xml')
    ov.save_model(ov.Core().read_model(onnx_file), ir, compress_to_fp16=False)
    img = random_images(1, SHAPE, seed=0).numpy()
    from_ir = build_backend('openvino', onnx_file=ir, threads=1)
    assert from_ir.onnx_file == ir
    # the same graph and weights compiled by the same plugin: the same kernels, bit for bit
    assert np.array_equal(from_ir(img), build_backend('openvino', onnx_file=onnx_file,
                                                      threads=1)(img))
    with pytest.raises(ValueError, match=r'model\.xml is an OpenVINO IR, which onnxruntime '
                       "cannot run; use backend 'openvino'"):
        build_backend('onnxruntime', onnx_file=ir)


def test_export_leaves_the_model_in_eval_mode(model, tmp_path):
    # The exporter restores its wrapper's mode recursively; a wrapper in training mode
    # used to switch the model's BN and dropout to training after an export.
    cached_export(model, (32, 64), cache_dir=str(tmp_path))
    assert not any(m.training for m in model.modules())
