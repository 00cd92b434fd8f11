"""lrseg_mm.deploy.quantize and .calibration: INT8 graphs that keep the fp32 model's accuracy."""
import glob
import json
import os.path as osp
import sys
from typing import NamedTuple

import mmcv
import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from helpers import LRNNET_SYNTHETIC, REPO, load_config
from lrseg_mm.apis import load_segmentor, read_image
from lrseg_mm.deploy import (ImageFolderCalibrationReader, SegmentorForExport,
                             backend_test_config, build_backend, cached_export,
                             cpu_has_vnni, graph_input_shape, graph_metadata, quantize_int8,
                             quantize_int8_openvino, run_test)

SHAPE = (64, 128)  # the synthetic images' size: the static graphs run them whole
TRAIN_ITERS = 20


def _images(root, split):
    return sorted(glob.glob(osp.join(root, 'leftImg8bit', split, '*', '*.png')))


def _label(image_path):
    return mmcv.imread(image_path.replace('leftImg8bit', 'gtFine', 1).replace(
        '_leftImg8bit.png', '_gtFine_labelTrainIds.png'), flag='unchanged')


def _normalised(model, paths):
    """The images as the model's data preprocessor gives them to the network."""
    inputs = [torch.from_numpy(read_image(p)).permute(2, 0, 1) for p in paths]
    return model.data_preprocessor(dict(inputs=inputs), False)['inputs']


def _reader(model, images, num_images):
    return ImageFolderCalibrationReader(images, num_images, SHAPE, model.cfg.test_pipeline,
                                        model.data_preprocessor)


class Trained(NamedTuple):
    model: torch.nn.Module
    fp32: str
    int8: str
    eval_cfg: object


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    """LRNNet trained a little on the synthetic scenes, its fp32 graph, the QDQ INT8 graph
    and the config of a test run on the synthetic val split: a model whose logits separate
    the classes, as a trained one's do (an untrained one's are near-constant maps
    rescaled, whose argmax any noise flips)."""
    torch.manual_seed(0)
    images = _images(synthetic_root, 'train')
    model = load_segmentor(osp.join(REPO, LRNNET_SYNTHETIC))
    folder = str(tmp_path_factory.mktemp('int8'))
    x = _normalised(model, images)
    y = torch.from_numpy(np.stack([_label(p) for p in images])).long()
    forward = SegmentorForExport(model.train())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(TRAIN_ITERS):
        loss = F.cross_entropy(forward(x), y, ignore_index=255)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    fp32 = cached_export(model, SHAPE, cache_dir=folder)
    # without VNNI full-range weights saturate: on an AVX2-only AMD EPYC they gave 14-21 dB
    # and 0.94 agreement below, 7-bit weights 28 dB and 0.99
    int8 = quantize_int8(fp32, osp.join(folder, 'int8.onnx'), _reader(model, images, 8),
                         reduce_range=not cpu_has_vnni())
    eval_cfg = load_config(LRNNET_SYNTHETIC, **{
        'val_dataloader.dataset.data_root': synthetic_root, 'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False, 'work_dir': osp.join(folder, 'work')})
    return Trained(model, fp32, int8, eval_cfg)


def test_int8_graph_is_qdq_with_per_channel_int8_weights(trained):
    int8 = trained.int8
    graph = onnx.load(int8).graph
    ops = [n.op_type for n in graph.node]
    assert 'QuantizeLinear' in ops and 'DequantizeLinear' in ops
    inits = {i.name: i for i in graph.initializer}
    convs = [n for n in graph.node if n.op_type == 'Conv']
    # every convolution's weight comes out of a DequantizeLinear of an int8 tensor with one
    # scale per output channel
    producers = {o: n for n in graph.node for o in n.output}
    for conv in convs:
        dq = producers[conv.input[1]]
        assert dq.op_type == 'DequantizeLinear', conv.name
        weight, scale = inits[dq.input[0]], inits[dq.input[1]]
        assert weight.data_type == onnx.TensorProto.INT8
        assert list(scale.dims) == [weight.dims[0]]
    meta = {p.key: p.value for p in onnx.load(int8).metadata_props}
    assert 'mean' in meta and 'quantization' in meta


@pytest.fixture(scope='module')
def nncf_int8(trained, synthetic_root):
    """The OpenVINO IR NNCF quantises the ``trained`` fp32 graph to, on the same 8 crops."""
    pytest.importorskip('openvino', reason='pip install openvino')
    pytest.importorskip('nncf', reason='pip install nncf')
    reader = _reader(trained.model, _images(synthetic_root, 'train'), 8)
    return quantize_int8_openvino(trained.fp32, osp.join(osp.dirname(trained.fp32),
                                                         'nncf_int8.xml'), reader)


# (quantiser, backend running its file)
INT8_RUNS = [('onnxruntime', 'onnxruntime'), ('onnxruntime', 'openvino'), ('nncf', 'openvino')]


@pytest.mark.parametrize('quantiser,backend', INT8_RUNS, ids=['-'.join(r) for r in INT8_RUNS])
def test_int8_predictions_and_miou_match_fp32(trained, quantiser, backend, request,
                                              synthetic_root):
    pytest.importorskip(backend, reason=f'pip install {backend}')
    fp32, int8 = trained.fp32, trained.int8
    if quantiser == 'nncf':
        int8 = request.getfixturevalue('nncf_int8')
    ref, quant = build_backend(backend, onnx_file=fp32), build_backend(backend, onnx_file=int8)
    agree, signal, noise = [], 0.0, 0.0
    for path in _images(synthetic_root, 'val'):
        x = _normalised(trained.model, [path])
        a, b = ref(x), quant(x)
        assert b.shape == a.shape == (1, 19, *SHAPE)
        agree.append(float((a.argmax(1) == b.argmax(1)).mean()))
        signal, noise = signal + float((a ** 2).sum()), noise + float(((a - b) ** 2).sum())
    # 8-bit steps are 1/255 of a tensor's range (-48 dB); the errors of the quantised
    # layers add up along the network, and the trained model's logits came out 38-39 dB
    # above them with the QDQ file and 31 dB with NNCF's IR, which also quantises the
    # pooling/concatenation/additions (measured on this setup; NNCF's default mean-of-crops
    # activation ranges gave 21 dB and 0.89 agreement). A broken scale or a mis-normalised
    # calibration gives about 0 dB. 20 dB (1 % of the logit power) leaves room for other
    # CPUs' kernels.
    assert 10 * np.log10(signal / noise) >= 20
    # pixels whose top-2 fp32 logits are closer than the INT8 error may flip; with 20 dB
    # that is a few per cent of a trained model's pixels (measured 0.99 agreement for the
    # QDQ file, 0.98 for NNCF's IR)
    assert min(agree) >= 0.95, agree
    # val mIoU (percent) of both graphs by the config's test run: at most 1 point lost
    before, after = (run_test(backend_test_config(trained.eval_cfg, path, backend))
                     for path in (fp32, int8))
    assert before['images'] == after['images'] == 4
    assert after['mIoU'] >= before['mIoU'] - 1.0, (before['mIoU'], after['mIoU'])


def _fake_quantize_ops(ir_file):
    import openvino as ov
    return [op for op in ov.Core().read_model(ir_file).get_ordered_ops()
            if op.get_type_name() == 'FakeQuantize']


def test_nncf_ir_is_quantised_beyond_conv_and_matmul(nncf_int8):
    assert osp.isfile(nncf_int8) and osp.isfile(osp.splitext(nncf_int8)[0] + '.bin')
    fq = _fake_quantize_ops(nncf_int8)
    consumers = {target.get_node().get_type_name() for op in fq
                 for target in op.output(0).get_target_inputs()}
    # weights and activations of every convolution (and the SVN's matrix products) ...
    assert {'Convolution', 'MatMul'} <= consumers, consumers
    # ... and, unlike the QDQ file (DEFAULT_OP_TYPES), the ops between them
    assert consumers - {'Convolution', 'GroupConvolution', 'MatMul'}, consumers
    # every FakeQuantize has 256 levels (8 bits) or, for NNCF's narrow-range weights, 255
    assert {op.get_attributes()['levels'] for op in fq} <= {255, 256}


def test_nncf_ir_carries_the_preprocessing_and_shape_of_the_fp32_graph(trained, nncf_int8):
    fp32 = trained.fp32
    meta, original = graph_metadata(nncf_int8), graph_metadata(fp32)
    assert {'input_channel_order', 'mean', 'std'} <= set(original)
    assert {k: meta[k] for k in original} == original  # every key, value for value
    assert json.loads(meta['mean']) == pytest.approx([123.675, 116.28, 103.53])
    quantization = json.loads(meta['quantization'])
    assert quantization['format'] == 'NNCF FakeQuantize'
    assert quantization['preset'] == 'performance' and quantization['calibration_images'] == 8
    assert quantization['activation_range'] == 'minmax'
    assert graph_input_shape(nncf_int8) == graph_input_shape(fp32) == SHAPE


def _asymmetric(fq_op):
    """Whether a FakeQuantize's input range is asymmetric: not [0, a] (unsigned), [-a, a]
    (narrow-range signed) or [-a * 128 / 127, a] (signed, 256 levels, zero point 0)."""
    low, high = (fq_op.input_value(i).get_node().get_data().astype(np.float64)
                 for i in (1, 2))
    ratio = -low / np.where(high == 0, 1, high)
    symmetric = ((low == 0) | np.isclose(ratio, 1, rtol=1e-4)
                 | np.isclose(ratio, 128 / 127, rtol=1e-4))
    return not bool(symmetric.all())


def test_nncf_mixed_preset_quantises_activations_asymmetrically(trained, nncf_int8,
                                                                synthetic_root):
    fp32 = trained.fp32
    reader = _reader(trained.model, _images(synthetic_root, 'train'), 2)
    mixed = quantize_int8_openvino(fp32, osp.join(osp.dirname(fp32), 'mixed.xml'), reader,
                                   preset='mixed')
    assert json.loads(graph_metadata(mixed)['quantization'])['preset'] == 'mixed'
    # 'performance' gives symmetric ranges only; 'mixed' shifts activation ranges
    assert not any(_asymmetric(op) for op in _fake_quantize_ops(nncf_int8))
    assert any(_asymmetric(op) for op in _fake_quantize_ops(mixed))


def test_nncf_quantisation_errors_are_clear(trained, synthetic_root, tmp_path, monkeypatch):
    fp32 = trained.fp32
    reader = _reader(trained.model, _images(synthetic_root, 'train'), 1)
    with pytest.raises(ValueError, match=r"got out_file '.*int8\.onnx'"):
        quantize_int8_openvino(fp32, str(tmp_path / 'int8.onnx'), reader)
    with pytest.raises(ValueError, match="one of performance, mixed, got 'accuracy'"):
        quantize_int8_openvino(fp32, str(tmp_path / 'int8.xml'), reader, preset='accuracy')
    with pytest.raises(ValueError, match="one of minmax, mean_minmax, got 'max'"):
        quantize_int8_openvino(fp32, str(tmp_path / 'int8.xml'), reader,
                               activation_range='max')
    monkeypatch.setitem(sys.modules, 'nncf', None)  # makes `import nncf` fail
    with pytest.raises(ImportError, match='pip install nncf'):
        quantize_int8_openvino(fp32, str(tmp_path / 'int8.xml'), reader)
    assert not list(tmp_path.iterdir())  # nothing written


def test_calibration_reader_crops_the_same_images_again(synthetic_root):
    from mmseg.registry import MODELS
    images = _images(synthetic_root, 'train')
    # the pipeline and a preprocessor that change nothing: crops of the raw BGR pixels
    reader = ImageFolderCalibrationReader(
        images, 10, (32, 48), [dict(type='LoadImageFromFile'), dict(type='PackSegInputs')],
        MODELS.build(dict(type='SegDataPreProcessor')), seed=3)
    first = [reader.get_next()['img'] for _ in range(10)]
    assert reader.get_next() is None and len(reader) == 10
    assert all(f.shape == (1, 3, 32, 48) for f in first)
    assert len(set(reader.files)) == len(images)  # all 8 used before any repeats
    reader.set_range(4, 6)
    again = [reader.get_next()['img'] for _ in range(2)]
    assert reader.get_next() is None
    assert np.array_equal(again[0], first[4]) and np.array_equal(again[1], first[5])
    # a crop is a window of the image's pixels (no preprocessing here)
    whole = read_image(reader.files[0]).transpose(2, 0, 1).astype(np.float32)
    h, w = whole.shape[1:]
    assert any(np.array_equal(first[0][0], whole[:, t:t + 32, s:s + 48])
               for t in range(h - 31) for s in range(w - 47))


def test_calibration_crops_follow_the_pipeline_and_preprocessor(trained, synthetic_root):
    # a keep-ratio resize to twice the size, then the model's normalisation (RGB order,
    # mean, std), then the crop
    image = _images(synthetic_root, 'train')[0]
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='Resize', scale=(256, 128), keep_ratio=True),
                dict(type='PackSegInputs')]
    preprocessor = trained.model.data_preprocessor
    crop = ImageFolderCalibrationReader([image], 1, SHAPE, pipeline, preprocessor).crop(0)
    resized = mmcv.imrescale(read_image(image), (256, 128), interpolation='bilinear')
    expected = preprocessor(dict(inputs=[torch.from_numpy(resized).permute(2, 0, 1)]),
                            False)['inputs'].numpy()
    assert expected.shape == (1, 3, 128, 256) and crop.shape == (1, 3, *SHAPE)
    assert abs(float(expected.mean())) < 3  # normalised, not raw 0..255 pixels
    assert any(np.array_equal(crop[0], expected[0, :, t:t + 64, s:s + 128])
               for t in range(128 - 63) for s in range(256 - 127))
