"""benchmarks.cpu_profile: how profiled time is grouped and reported."""
import pytest
import torch

from benchmarks import cpu_profile


@pytest.mark.parametrize('op, category', [
    ('aten::mkldnn_convolution', 'conv'), ('aten::_slow_conv2d_forward', 'conv'),
    ('aten::bmm', 'conv'), ('aten::addmm', 'conv'),
    ('aten::native_batch_norm', 'batch norm'),
    ('aten::cat', 'layout'), ('aten::copy_', 'layout'), ('aten::native_channel_shuffle', 'layout'),
    ('aten::add_', 'elementwise'), ('aten::clamp_min_', 'elementwise'),
    ('aten::max_pool2d_with_indices', 'elementwise'),
    ('aten::upsample_bilinear2d', 'resize'), ('aten::fill_', 'other'), ('aten::empty', 'other'),
])
def test_aten_operators_fall_in_their_category(op, category):
    assert cpu_profile.category(op, aten=True) == category


@pytest.mark.parametrize('node, category', [
    ('Convolution', 'conv'), ('GroupConvolution', 'conv'), ('MatMul', 'conv'),
    ('Reorder', 'layout'), ('ShuffleChannels', 'layout'), ('VariadicSplit', 'layout'),
    ('Subgraph', 'elementwise'), ('Interpolate', 'resize'), ('Parameter', 'other'),
])
def test_openvino_nodes_fall_in_their_category(node, category):
    assert cpu_profile.category(node) == category


def test_row_shares_add_up_and_conv_throughput_is_twice_macs_over_time():
    spent = {'conv': 30.0, 'layout': 10.0}
    row = cpu_profile.row('M', spent, cpu_profile.conv_gflops(spent, macs=3e9))
    # total 40 ms; conv 75 %, layout 25 %, the rest 0; 2 x 3 GMAC / 30 ms = 200 GFLOP/s
    assert row == ['M', '40', '30 (75 %)', '0 (0 %)', '10 (25 %)', '0 (0 %)', '0 (0 %)',
                   '0 (0 %)', '200']
    assert cpu_profile.conv_gflops({'layout': 1.0}, 1e9) == '-'


def test_eager_profile_attributes_a_convolution_model_to_conv():
    model = torch.nn.Conv2d(3, 8, 3, padding=1)

    class Segmentor(torch.nn.Module):  # SegmentorForExport needs encode_decode
        def __init__(self):
            super().__init__()
            self.conv = model

        def encode_decode(self, img, metas):
            return self.conv(img)

    spent = cpu_profile.eager_profile(Segmentor(), calls=1, shape=(32, 48))
    assert max(spent, key=spent.get) == 'conv' and set(spent) <= set(cpu_profile.CATEGORIES)


@pytest.mark.parametrize('op, category', [
    ('FusedConv', 'conv'), ('Conv', 'conv'), ('MatMul', 'conv'),
    ('ReorderInput', 'layout'), ('Concat', 'layout'), ('Transpose', 'layout'),
    ('Relu', 'elementwise'), ('MaxPool', 'elementwise'), ('Resize', 'resize'),
    ('BatchNormalization', 'batch norm'), ('Shape', 'other'),
])
def test_onnxruntime_ops_fall_in_their_category(op, category):
    assert cpu_profile.category(op) == category


def test_onnxruntime_profile_groups_the_timed_runs_of_a_graph(tmp_path):
    pytest.importorskip('onnxruntime')
    from lrseg_mm.deploy import INPUT_NAME
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
    path = str(tmp_path / 'conv.onnx')
    torch.onnx.export(conv, (torch.randn(1, 3, 32, 48), ), path, dynamo=False,
                      input_names=[INPUT_NAME])
    spent = cpu_profile.onnxruntime_profile(path, threads=1, calls=2, shape=(32, 48))
    assert max(spent, key=spent.get) == 'conv' and set(spent) <= set(cpu_profile.CATEGORIES)


def test_openvino_profile_groups_the_nodes_of_a_graph(tmp_path):
    pytest.importorskip('openvino')
    conv = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU())
    path = str(tmp_path / 'conv.onnx')
    torch.onnx.export(conv, (torch.randn(1, 3, 32, 48), ), path, dynamo=False)
    spent = cpu_profile.openvino_profile(path, threads=1, calls=2, shape=(32, 48))
    assert spent and set(spent) <= set(cpu_profile.CATEGORIES)
    assert all(ms >= 0 for ms in spent.values())
