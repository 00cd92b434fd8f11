"""lrseg_mm.deploy.export and .parity: exported graphs compute what PyTorch computes."""
import json
import os.path as osp

import onnx
import pytest
import torch

from helpers import REPO
from lrseg_mm.apis import load_segmentor
from lrseg_mm.deploy import (SegmentorForExport, backend_parity, calibrate_untrained,
                             export_onnx, float32_rounding_error)
from lrseg_mm.models.utils import region_matrices

# One config per registered family (the lightest Cityscapes model of each). ShelfNet18-lw
# is the model whose official export fails (juntang-zhuang/ShelfNet#26: InPlaceABNSync is a
# Python autograd function); ours uses BN + LeakyReLU through norm_cfg/act_cfg.
FAMILY_CONFIGS = {
    'lrnnet': 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py',
    'shelfnet': 'configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py',
    'lw_refinenet': 'configs/lw_refinenet/lw-refinenet_mbv2_4xb2-80k_cityscapes-512x1024.py',
}
EXPORT_SHAPE = (64, 128)
# Other sizes the dynamic exports must follow: a batch of 2, sizes whose 1/8 maps are not
# divisible by the SVN grids (12x20), and odd sizes (97x131).
DYNAMIC_CHECKS = [((96, 160), 2), ((97, 131), 1)]
# onnxruntime and PyTorch both round in float32: each is off the float64 logits by about
# PyTorch's own float32 error, so their difference stays within a few times that error
# (measured 0.9x-1.9x on these three families); a wrong graph differs by the logits' scale.
ROUNDING_FACTOR = 4


def within_rounding(path, model, shape, batch_size=1, seed=0, backend='onnxruntime'):
    parity = backend_parity(path, model, shape, backend, batch_size=batch_size, seed=seed)
    bound = ROUNDING_FACTOR * float32_rounding_error(model, shape, batch_size, seed)
    return parity.max_abs_diff <= bound, parity, bound


@pytest.fixture(scope='module', params=sorted(FAMILY_CONFIGS))
def exported(request, tmp_path_factory):
    """(family, model, path of its dynamic export at 64x128)."""
    # untrained weights with BN statistics set from random images and unit-variance logits,
    # so the compared logits vary with the input as a trained model's do
    model = calibrate_untrained(load_segmentor(osp.join(REPO, FAMILY_CONFIGS[request.param])),
                                EXPORT_SHAPE)
    path = str(tmp_path_factory.mktemp('onnx') / f'{request.param}.onnx')
    export_onnx(model, path, EXPORT_SHAPE, dynamic=True)
    return request.param, model, path


def test_export_matches_pytorch_at_export_size(exported):
    family, model, path = exported
    ok, parity, bound = within_rounding(path, model, EXPORT_SHAPE)
    assert ok, (family, parity, bound)
    assert parity.max_abs_logit > 1, f'{family}: logits too small to compare: {parity}'


@pytest.mark.parametrize('shape,batch', DYNAMIC_CHECKS)
def test_dynamic_export_follows_other_sizes(exported, shape, batch):
    family, model, path = exported
    ok, parity, bound = within_rounding(path, model, shape, batch_size=batch, seed=1)
    assert ok, (family, shape, parity, bound)


def test_export_is_encode_decode_at_input_size(exported):
    family, model, _ = exported
    img = torch.randn(1, 3, 72, 136)
    with torch.no_grad():
        ours = SegmentorForExport(model)(img)
        toolbox = model.encode_decode(img, [dict(img_shape=(72, 136), pad_shape=(72, 136))])
    assert ours.shape == (1, 19, 72, 136)
    assert torch.equal(ours, toolbox)


def test_export_records_preprocessing_metadata(exported):
    _, _, path = exported
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert meta['input_channel_order'] == 'rgb'  # the configs' bgr_to_rgb=True
    assert json.loads(meta['mean']) == pytest.approx([123.675, 116.28, 103.53])
    assert json.loads(meta['std']) == pytest.approx([58.395, 57.12, 57.375])
    graph = onnx.load(path).graph
    assert [i.name for i in graph.input] == ['img']
    assert [o.name for o in graph.output] == ['seg_logits']
    dims = graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ['batch', '', 'height', 'width']


def test_static_export_fixes_the_shape(tmp_path):
    model = load_segmentor(osp.join(REPO, FAMILY_CONFIGS['lrnnet']))
    path = export_onnx(model, str(tmp_path / 'static.onnx'), (32, 64))
    dims = onnx.load(path).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [1, 3, 32, 64]
    ok, parity, bound = within_rounding(path, model, (32, 64))
    assert ok, (parity, bound)


@pytest.mark.parametrize('size', [(16, 32), (12, 20), (9, 13), (3, 5)])
def test_traced_region_matrices_follow_the_input_size(size):
    # The SVN regions are traced once at 16x32 and the trace is replayed at other sizes,
    # divisible or not by the grid, as the dynamic ONNX graph does.
    def regions(x):
        return region_matrices(x, (8, 4))

    traced = torch.jit.trace(regions, torch.randn(1, 4, 16, 32), check_trace=False)
    x = torch.randn(2, 4, *size)
    assert torch.equal(traced(x), regions(x))


def test_calibrate_untrained_normalises_and_scales_logits():
    model = calibrate_untrained(load_segmentor(osp.join(REPO, FAMILY_CONFIGS['lrnnet'])),
                                (32, 64))
    assert not any(m.training for m in model.modules())
    bn = model.decode_head.classifier.bn
    assert bn.num_batches_tracked == 2 and not torch.equal(bn.running_var,
                                                           torch.ones_like(bn.running_var))
    img = torch.randn(2, 3, 32, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        logits = SegmentorForExport(model)(img)
    # the same images as the calibration's first batch: unit standard deviation
    assert float(logits.std()) == pytest.approx(1.0, rel=1e-3)


def test_float32_rounding_error_is_small_but_not_zero():
    model = calibrate_untrained(load_segmentor(osp.join(REPO, FAMILY_CONFIGS['lrnnet'])),
                                (32, 64))
    logits = SegmentorForExport(model)(torch.randn(1, 3, 32, 64,
                                                   generator=torch.Generator().manual_seed(0)))
    # a few float32 ulps of the logits' scale per layer, not zero (it is measured, not assumed)
    assert 0 < float32_rounding_error(model, (32, 64)) < 1e-4 * float(logits.abs().max())


# LRNNet's SVN block with its options on (zero_init off: a zero-initialised block is the
# identity, which any graph reproduces): the signed values, query projection, learned
# temperature and value scaling must export and run alike in both runtimes.
SVN_OPTIONS = [
    dict(zero_init=False, signed=True, query_proj=True, learn_temperature=True,
         scale_values=True, restore_norm=False),
    dict(zero_init=False, signed=True, query_proj=True, learn_temperature=True),
]


@pytest.mark.parametrize('options', SVN_OPTIONS, ids=['all-but-restore-norm', 'signed-query'])
@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_lrnnet_svn_options_export_within_rounding(options, backend, tmp_path):
    pytest.importorskip(backend, reason=f'pip install {backend}')
    model = load_segmentor(osp.join(REPO, FAMILY_CONFIGS['lrnnet']),
                           cfg_options={'model.decode_head.svn_cfg': options})
    calibrate_untrained(model, EXPORT_SHAPE)
    path = export_onnx(model, str(tmp_path / 'lrnnet_svn.onnx'), EXPORT_SHAPE)
    ok, parity, bound = within_rounding(path, model, EXPORT_SHAPE, backend=backend)
    assert ok, (options, backend, parity, bound)
    assert parity.max_abs_logit > 1, parity
