"""lrseg_mm.deploy.segmentor and .evaluation: an exported graph judged by the toolbox's
test loop as the PyTorch model is."""
import copy
import os.path as osp

import numpy as np
import pytest
import torch

from helpers import LRNNET_SYNTHETIC, REPO, load_config
from lrseg_mm.apis import load_segmentor
from lrseg_mm.deploy import (BackendSegmentor, backend_test_config, cached_export,
                             calibrate_untrained, export_onnx, run_test)

SHAPE = (64, 128)  # the synthetic images' size


@pytest.fixture(scope='module')
def exported(synthetic_root, tmp_path_factory):
    """(test config, checkpoint, static ONNX file) of an untrained, calibrated LRNNet."""
    folder = tmp_path_factory.mktemp('backend_segmentor')
    model = calibrate_untrained(load_segmentor(osp.join(REPO, LRNNET_SYNTHETIC)), SHAPE,
                                logit_std=4.0)
    checkpoint = str(folder / 'model.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), checkpoint)
    cfg = load_config(LRNNET_SYNTHETIC, **{
        'val_dataloader.dataset.data_root': synthetic_root, 'val_dataloader.num_workers': 0,
        'val_dataloader.persistent_workers': False, 'work_dir': str(folder / 'work'),
        'val_evaluator.type': 'ClassIoUMetric'})
    return cfg, checkpoint, cached_export(model, SHAPE, cache_dir=str(folder))


@pytest.mark.parametrize('backend', ['onnxruntime', 'openvino'])
def test_test_loop_gives_the_pytorch_models_miou(exported, backend):
    pytest.importorskip(backend, reason=f'pip install {backend}')
    cfg, checkpoint, onnx_file = exported
    pytorch_cfg = copy.deepcopy(cfg)
    pytorch_cfg.load_from = checkpoint
    pytorch_cfg.test_dataloader, pytorch_cfg.test_evaluator = (cfg.val_dataloader,
                                                               cfg.val_evaluator)
    pytorch = run_test(pytorch_cfg)
    graph = run_test(backend_test_config(cfg, onnx_file, backend, threads=1))
    assert pytorch['images'] == graph['images'] == 4
    assert pytorch['aAcc'] > 0
    # the same logits up to float32 rounding, resized and compared by the same code: the
    # same metrics (percent, rounded to 0.01 by IoUMetric) and, but for pixels whose top two
    # logits are within rounding of each other (none on this machine), the same predictions
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert graph[key] == pytest.approx(pytorch[key], abs=0.01), key
    confusion = np.array(pytorch['confusion'])
    assert np.abs(np.array(graph['confusion']) - confusion).sum() <= 1e-3 * confusion.sum()


def test_backend_config_keeps_the_segmentors_preprocessing_and_test_cfg(exported):
    cfg, _, onnx_file = exported
    test_cfg = backend_test_config(cfg, onnx_file)
    assert test_cfg.model.type == 'BackendSegmentor'
    assert test_cfg.model.data_preprocessor == cfg.model.data_preprocessor
    assert test_cfg.model.test_cfg == cfg.model.test_cfg
    assert test_cfg.test_dataloader == cfg.val_dataloader and test_cfg.load_from is None
    assert cfg.model.type != 'BackendSegmentor'  # the given config is left as it was


def test_static_graph_names_the_size_it_takes(exported):
    _, _, onnx_file = exported
    segmentor = BackendSegmentor(onnx_file, num_classes=19)
    assert segmentor.out_channels == 19
    with pytest.raises(ValueError, match=r'static graph for 64x128 inputs; the test pipeline '
                       r'gives 32x64'):
        segmentor.encode_decode(torch.zeros(1, 3, 32, 64), [])
    assert segmentor(torch.zeros(1, 3, *SHAPE), mode='tensor').shape == (1, 19, *SHAPE)
    with pytest.raises(NotImplementedError, match='evaluated, not trained'):
        segmentor.loss(torch.zeros(1, 3, *SHAPE), [])


def test_slide_inference_runs_a_dynamic_graph(tmp_path):
    # sliding windows smaller than the image: the toolbox's slide_inference around the graph
    model = calibrate_untrained(load_segmentor(osp.join(REPO, LRNNET_SYNTHETIC)), SHAPE)
    onnx_file = export_onnx(model, str(tmp_path / 'dynamic.onnx'), SHAPE, dynamic=True)
    test_cfg = dict(mode='slide', crop_size=(32, 64), stride=(24, 48))
    segmentor = BackendSegmentor(onnx_file, 19, data_preprocessor=dict(type='SegDataPreProcessor'),
                                 test_cfg=test_cfg)
    model.test_cfg = segmentor.test_cfg
    img = torch.randn(1, 3, *SHAPE)
    metas = [dict(ori_shape=SHAPE, img_shape=SHAPE, pad_shape=SHAPE)]
    with torch.no_grad():
        expected = model.inference(img, copy.deepcopy(metas))
    actual = segmentor.inference(img, copy.deepcopy(metas))
    assert actual.shape == expected.shape == (1, 19, *SHAPE)
    assert torch.allclose(actual, expected, atol=1e-4)
