"""lrseg_mm.apis.quantize: INT8 quantisation of an exported model, and the mIoU it is judged by."""
import glob
import json
import os.path as osp
import sys

import numpy as np
import onnx
import pytest
import torch
import torch.nn.functional as F

from helpers import REPO
from lrseg_mm.apis import SegmentorForExport, load_segmentor
from lrseg_mm.apis.deploy import build_backend, cached_export
from lrseg_mm.apis.quantize import (ImageFolderCalibrationReader, confusion_matrix,
                                    evaluate_folder, graph_input_shape, graph_metadata,
                                    graph_preprocessing, normalise, quantize_int8,
                                    quantize_int8_openvino, read_image, read_label,
                                    segmentation_metrics)

LRNNET = 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'
SHAPE = (64, 128)
TRAIN_ITERS = 20


def test_confusion_matrix_and_miou_match_a_hand_computed_example():
    label = np.array([[0, 0, 1, 1], [2, 2, 255, 1]])
    pred = np.array([[0, 1, 1, 1], [2, 0, 2, 3]])
    confusion = confusion_matrix(pred, label, num_classes=4)
    # rows = truth, columns = prediction; the 255 pixel is ignored
    assert confusion.tolist() == [[1, 1, 0, 0], [0, 2, 0, 1], [1, 0, 1, 0], [0, 0, 0, 0]]
    metrics = segmentation_metrics(confusion)
    # IoU: class 0 1/(2+2-1), class 1 2/(3+3-2), class 2 1/(2+1-1), class 3 0/(0+1-0)
    assert metrics['IoU'] == [1 / 3, 2 / 4, 1 / 2, 0.0]
    assert metrics['mIoU'] == (1 / 3 + 2 / 4 + 1 / 2 + 0.0) / 4
    assert metrics['aAcc'] == 4 / 7
    # a class in neither labels nor predictions has no IoU and is left out of the mean
    absent = segmentation_metrics(confusion_matrix(pred[pred < 3], label[pred < 3], 5))
    assert np.isnan(absent['IoU'][4]) and np.isnan(absent['IoU'][3])
    with pytest.raises(ValueError, match=r'label values must be in \[0, 4\)'):
        confusion_matrix(pred, np.full_like(label, 7), 4)


def test_miou_equals_the_toolboxs_iou_metric():
    from mmseg.evaluation import IoUMetric
    rng = np.random.default_rng(0)
    label = rng.integers(0, 5, (40, 50))
    label[rng.random(label.shape) < 0.1] = 255
    pred = np.where(rng.random(label.shape) < 0.6, label % 255, rng.integers(0, 5, (40, 50)))
    areas = IoUMetric.intersect_and_union(torch.from_numpy(pred), torch.from_numpy(label), 5,
                                          255)
    toolbox = IoUMetric.total_area_to_metrics(*[a.double() for a in areas], ['mIoU'])
    ours = segmentation_metrics(confusion_matrix(pred, label, 5))
    # the same integer counts divided the same way: equal to the last bit
    assert np.array_equal(toolbox['IoU'], np.array(ours['IoU']))
    assert toolbox['aAcc'] == pytest.approx(ours['aAcc'], rel=1e-12)


def _split(root, name):
    images = sorted(glob.glob(osp.join(root, 'leftImg8bit', name, '*', '*.png')))
    labels = [p.replace('leftImg8bit', 'gtFine', 1).replace('_leftImg8bit.png',
                                                             '_gtFine_labelTrainIds.png')
              for p in images]
    return images, labels


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    """(fp32 file, INT8 file, val images, val labels) of LRNNet trained a little on the
    synthetic scenes: a model whose logits separate the classes, as a trained one's do (an
    untrained one's are near-constant maps rescaled, whose argmax any noise flips)."""
    torch.manual_seed(0)
    images, labels = _split(synthetic_root, 'train')
    model = load_segmentor(osp.join(REPO, LRNNET))
    folder = str(tmp_path_factory.mktemp('int8'))
    preprocessing = dict(rgb=True, mean=np.array([123.675, 116.28, 103.53], np.float32),
                         std=np.array([58.395, 57.12, 57.375], np.float32))
    x = torch.from_numpy(np.stack([normalise(read_image(p), preprocessing) for p in images]))
    y = torch.from_numpy(np.stack([read_label(p) for p in labels]))
    forward = SegmentorForExport(model.train())
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(TRAIN_ITERS):
        loss = F.cross_entropy(forward(x), y, ignore_index=255)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    fp32 = cached_export(model, SHAPE, cache_dir=folder)
    assert graph_preprocessing(fp32)['mean'].tolist() == pytest.approx(
        preprocessing['mean'].tolist())
    reader = ImageFolderCalibrationReader(images, 8, SHAPE, graph_preprocessing(fp32))
    int8 = quantize_int8(fp32, osp.join(folder, 'int8.onnx'), reader)
    return (fp32, int8, *_split(synthetic_root, 'val'))


def test_int8_graph_is_qdq_with_per_channel_int8_weights(trained):
    _, int8, _, _ = trained
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
    fp32 = trained[0]
    images, _ = _split(synthetic_root, 'train')
    reader = ImageFolderCalibrationReader(images, 8, SHAPE, graph_preprocessing(fp32))
    return quantize_int8_openvino(fp32, osp.join(osp.dirname(fp32), 'nncf_int8.xml'), reader)


# (quantiser, backend running its file)
INT8_RUNS = [('onnxruntime', 'onnxruntime'), ('onnxruntime', 'openvino'), ('nncf', 'openvino')]


@pytest.mark.parametrize('quantiser,backend', INT8_RUNS, ids=['-'.join(r) for r in INT8_RUNS])
def test_int8_predictions_and_miou_match_fp32(trained, quantiser, backend, request):
    pytest.importorskip(backend, reason=f'pip install {backend}')
    fp32, int8, images, labels = trained
    if quantiser == 'nncf':
        int8 = request.getfixturevalue('nncf_int8')
    preprocessing = graph_preprocessing(int8)
    ref, quant = build_backend(backend, onnx_file=fp32), build_backend(backend, onnx_file=int8)
    agree, signal, noise = [], 0.0, 0.0
    for path in images:
        x = normalise(read_image(path), preprocessing)[None]
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
    num_classes = 19
    before = evaluate_folder(ref, images, labels, num_classes, preprocessing)
    after = evaluate_folder(quant, images, labels, num_classes, preprocessing)
    # the deployment goal: at most 1.0 point of mIoU lost
    assert after['mIoU'] >= before['mIoU'] - 0.01, (before['mIoU'], after['mIoU'])


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
    fp32 = trained[0]
    theirs, ours = graph_preprocessing(fp32), graph_preprocessing(nncf_int8)
    assert theirs['rgb'] == ours['rgb'] is True
    for key in ('mean', 'std'):
        assert np.array_equal(theirs[key], ours[key]), key
    assert theirs['mean'].tolist() != [0, 0, 0]  # the keys were really read, not defaulted
    meta, original = graph_metadata(nncf_int8), graph_metadata(fp32)
    assert {k: meta[k] for k in original} == original  # every key, value for value
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
    fp32 = trained[0]
    images, _ = _split(synthetic_root, 'train')
    reader = ImageFolderCalibrationReader(images, 2, SHAPE, graph_preprocessing(fp32))
    mixed = quantize_int8_openvino(fp32, osp.join(osp.dirname(fp32), 'mixed.xml'), reader,
                                   preset='mixed')
    assert json.loads(graph_metadata(mixed)['quantization'])['preset'] == 'mixed'
    # 'performance' gives symmetric ranges only; 'mixed' shifts activation ranges
    assert not any(_asymmetric(op) for op in _fake_quantize_ops(nncf_int8))
    assert any(_asymmetric(op) for op in _fake_quantize_ops(mixed))


def test_nncf_quantisation_errors_are_clear(trained, synthetic_root, tmp_path, monkeypatch):
    fp32 = trained[0]
    images, _ = _split(synthetic_root, 'train')
    reader = ImageFolderCalibrationReader(images, 1, SHAPE, graph_preprocessing(fp32))
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
    images, _ = _split(synthetic_root, 'train')
    preprocessing = dict(rgb=False, mean=np.zeros(3, np.float32), std=np.ones(3, np.float32))
    reader = ImageFolderCalibrationReader(images, 10, (32, 48), preprocessing, seed=3)
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
