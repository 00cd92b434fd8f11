"""tools/export_onnx.py: it exports, reports onnxruntime's difference from PyTorch and fails
when the difference exceeds the tolerance."""
import os.path as osp

import pytest

from helpers import REPO, load_tool

LRNNET = 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'


def _load_tool():
    return load_tool('tools/export_onnx.py')


def test_tool_reports_diffs_and_exit_status(tmp_path, capsys):
    tool = _load_tool()
    out = str(tmp_path / 'lrnnet.onnx')
    config = osp.join(REPO, LRNNET)
    args = [config, '--shape', '32', '64', '--dynamic', '--out', out]
    assert tool.main(args) == 0
    printed = capsys.readouterr().out
    assert osp.isfile(out)
    assert 'batch 1, 32x64: max abs diff' in printed
    assert 'batch 2, 64x96: max abs diff' in printed  # the default second size, H+32 W+32
    assert printed.count('from 4 x rounding') == 2  # the tolerance comes from the model
    # a tolerance nothing can meet makes the tool fail, and it gives the rounding scale
    assert tool.main(args + ['--atol', '0']) == 1
    captured = capsys.readouterr()
    assert 'FAIL' in captured.out and 'PyTorch float32 vs float64 differ by' in captured.err


def test_tool_fails_a_dynamic_export_that_does_not_follow_the_size(tmp_path, capsys):
    # The toolbox's MobileNetV3 pads with mmcv's Conv2dAdaptivePadding, which computes the
    # padding from Python ints: tracing freezes them, so the graph is right at 32x64 only.
    tool = _load_tool()
    config = osp.join(REPO, 'configs/mix/svnhead_mobilenet-v3-d8_4xb4-160k_cityscapes-512x1024.py')
    assert tool.main([config, '--shape', '32', '64', '--dynamic', '--out',
                      str(tmp_path / 'mv3.onnx')]) == 1
    captured = capsys.readouterr()
    assert 'batch 1, 32x64: max abs diff' in captured.out and 'ok,' in captured.out
    assert 'right at the traced size only' in captured.err


def test_tool_rejects_missing_checkpoint(tmp_path):
    tool = _load_tool()
    with pytest.raises(FileNotFoundError, match='no_such.pth'):
        tool.main([osp.join(REPO, LRNNET), str(tmp_path / 'no_such.pth'),
                   '--shape', '32', '64'])
