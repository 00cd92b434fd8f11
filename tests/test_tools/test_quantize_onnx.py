"""tools/quantize_onnx.py and tools/eval_onnx.py: both quantisers, the evaluation, and the
errors."""
import json
import os.path as osp

import numpy as np
import pytest

from helpers import REPO, load_tool, python_tool, write_tiny_camvid

CONFIG = osp.join(REPO, 'configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py')
CHECKPOINT = osp.join(REPO, 'checkpoints/lrnnet-c_camvid-360x480.pth')


def _load_tool(name):
    return load_tool(f'tools/{name}.py')


QUANTIZE_ERRORS = [
    (['--backend', 'openvino', '--out', 'int8.xml', '--method', 'entropy'],
     '--method apply to --backend onnxruntime only'),
    (['--backend', 'openvino', '--out', 'int8.xml', '--per-tensor', '--op-types', 'Conv'],
     '--per-tensor, --op-types apply to --backend onnxruntime only'),
    (['--backend', 'openvino', '--out', 'int8.xml', '--activation-type', 'uint8'],
     '--activation-type apply to --backend onnxruntime only'),
    (['--backend', 'openvino', '--out', 'int8.xml', '--reduce-range'],
     '--reduce-range apply to --backend onnxruntime only'),
    (['--backend', 'openvino', '--out', 'int8.onnx'], '--out must end in .xml'),
    (['--out', 'int8.xml'], '--out int8.xml ends in .xml (use --backend openvino'),
    (['--out', 'int8.onnx', '--preset', 'mixed'], '--preset applies to --backend openvino only'),
]


@pytest.mark.parametrize('flags,message', QUANTIZE_ERRORS)
def test_quantize_tool_rejects_options_of_the_other_backend(flags, message, capsys):
    tool = _load_tool('quantize_onnx')
    with pytest.raises(SystemExit):
        tool.parse_args([CONFIG, CHECKPOINT, '--calib-dir', 'x', *flags])
    assert message in capsys.readouterr().err


def test_quantize_tool_defaults_stay_those_of_onnxruntime():
    tool = _load_tool('quantize_onnx')
    args = tool.parse_args([CONFIG, CHECKPOINT, '--calib-dir', 'x', '--out', 'a.onnx'])
    assert (args.backend, args.activation_type, args.method) == ('onnxruntime', 'uint8', 'minmax')
    assert args.per_tensor is False and args.reduce_range is False
    assert args.op_types == ['Conv', 'MatMul']
    args = tool.parse_args([CONFIG, CHECKPOINT, '--calib-dir', 'x', '--out', 'a.xml',
                            '--backend', 'openvino'])
    assert (args.preset, args.activation_range) == ('performance', 'minmax')


def test_eval_tool_refuses_an_ir_on_onnxruntime(capsys):
    tool = _load_tool('eval_onnx')
    with pytest.raises(SystemExit):
        tool.parse_args([CONFIG, 'a.onnx', 'int8.xml'])
    assert 'int8.xml: an OpenVINO IR runs on --backend openvino only' in capsys.readouterr().err
    assert tool.parse_args([CONFIG, 'int8.xml', '--backend', 'openvino']).models == ['int8.xml']


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_round_trip_on_a_tiny_camvid(backend, tmp_path):
    """quantize_onnx.py writes an INT8 file (QDQ .onnx, or NNCF's IR) that eval_onnx.py
    evaluates next to the fp32 graph, with the class names and preprocessing of the
    checkpoint."""
    pytest.importorskip(backend, reason=f'pip install {backend}')
    if backend == 'openvino':
        pytest.importorskip('nncf', reason='pip install nncf')
    from lrseg_mm.datasets import CamVidDataset
    from lrseg_mm.deploy import cpu_has_vnni, graph_input_shape, graph_metadata
    root = str(write_tiny_camvid(tmp_path / 'camvid'))
    out = str(tmp_path / ('int8.xml' if backend == 'openvino' else 'int8.onnx'))
    # the 7-bit weights a CPU without VNNI needs (cpu_has_vnni)
    flags = ['--reduce-range'] if backend == 'onnxruntime' and not cpu_has_vnni() else []
    result = python_tool('tools/quantize_onnx.py', CONFIG, CHECKPOINT, '--calib-dir',
                         osp.join(root, 'train'), '--num-calib', '2', '--backend', backend,
                         '--out', out, *flags)
    assert result.returncode == 0, result.stderr[-3000:]
    fp32 = str(tmp_path / 'int8_fp32.onnx')
    assert osp.isfile(out) and osp.isfile(fp32)
    if backend == 'openvino':
        assert osp.isfile(str(tmp_path / 'int8.bin'))
        assert 'OpenVINO IR, NNCF performance preset' in result.stdout
    else:
        assert 'INT8 graph: ' + out + ' (QDQ, per-channel int8 weights' in result.stdout
    meta = graph_metadata(out)
    assert json.loads(meta['classes']) == list(CamVidDataset.METAINFO['classes'])
    assert json.loads(meta['quantization'])['calibration_images'] == 2
    assert all(meta[k] == graph_metadata(fp32)[k] for k in ('input_channel_order', 'mean',
                                                            'std'))
    assert graph_input_shape(out) == (360, 480)
    report = str(tmp_path / 'eval.json')
    options = ['val_dataloader.dataset.data_root=' + root]
    result = python_tool('tools/eval_onnx.py', CONFIG, fp32, out, '--backend', backend,
                         '--json', report, '--work-dir', str(tmp_path / 'work'),
                         '--cfg-options', *options)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.load(open(report))['results']
    before, after = results[fp32], results[out]
    assert before['images'] == after['images'] == 2
    assert 'mIoU difference (second - first)' in result.stdout
    assert set(before['IoU']) == set(CamVidDataset.METAINFO['classes'])
    a, b = np.array(before['confusion']), np.array(after['confusion'])
    assert a.sum() == b.sum() > 0  # the same labelled pixels
    # half the L1 distance of the confusion matrices is at most the number of pixels the
    # INT8 model labels differently from the fp32 one: a few per cent at 8 bits, most of
    # them for a broken quantisation (wrong ranges or preprocessing)
    assert np.abs(a - b).sum() / 2 <= 0.05 * a.sum(), np.abs(a - b).sum() / 2 / a.sum()
