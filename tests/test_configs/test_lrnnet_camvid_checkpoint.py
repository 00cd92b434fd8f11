"""The shipped CamVid LRNNet checkpoint works with the CamVid config in every entry point:
our tools, the toolbox's ``init_model``/``inference_model``/``MMSegInferencer`` and its
own ``tools/test.py`` (CI has no CamVid: a tiny CamVid-layout folder stands in)."""
import os.path as osp
import subprocess
import sys

import cv2
import pytest
import torch

from helpers import REPO, python_tool, write_random_images, write_tiny_camvid
from lrseg_mm.apis import load_segmentor
from lrseg_mm.datasets import CamVidDataset

CONFIG = osp.join(REPO, 'configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py')
CHECKPOINT = osp.join(REPO, 'checkpoints/lrnnet-c_camvid-360x480.pth')
MMSEG_TEST = osp.join(osp.dirname(__import__('mmseg').__file__), '.mim', 'tools', 'test.py')
NUM_CLASSES = 11
SIZES = [(360, 480), (241, 323)]  # CamVid's size and an odd one


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    return write_random_images(tmp_path_factory.mktemp('frames'), SIZES, 'frame')


@pytest.fixture(scope='module')
def tiny_camvid(tmp_path_factory):
    return str(write_tiny_camvid(tmp_path_factory.mktemp('camvid') / 'camvid'))


def test_small_half_precision_and_strict():
    assert osp.getsize(CHECKPOINT) <= 5 * 2**20
    state = torch.load(CHECKPOINT, map_location='cpu', weights_only=True)['state_dict']
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}
    model = load_segmentor(CONFIG)
    model.load_state_dict(state, strict=True)  # float16 copied into float32 parameters
    assert sum(p.numel() for p in model.parameters()) == 681_178  # Model C, 11 classes


def test_class_names_and_palette_come_with_it():
    model = load_segmentor(CONFIG, CHECKPOINT)
    assert model.dataset_meta['classes'] == CamVidDataset.METAINFO['classes']
    assert len(model.dataset_meta['palette']) == NUM_CLASSES


def test_toolbox_inference_predicts_camvid_ids_at_the_input_size(images):
    from mmseg.apis import inference_model, init_model
    model = init_model(CONFIG, CHECKPOINT, device='cpu')
    for path, size in zip(images, SIZES):
        label = inference_model(model, path).pred_sem_seg.data[0]
        assert tuple(label.shape) == size
        assert 0 <= int(label.min()) and int(label.max()) < NUM_CLASSES


def test_toolbox_inferencer(images, tmp_path):
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(model=CONFIG, weights=CHECKPOINT, device='cpu')
    predictions = inferencer(images, out_dir=str(tmp_path))['predictions']
    assert [p.shape for p in predictions] == SIZES
    assert all(p.max() < NUM_CLASSES for p in predictions)


def test_infer_tool_writes_camvid_labels(images, tmp_path):
    result = python_tool('tools/infer.py', CONFIG, CHECKPOINT, *images, '--out-dir',
                         str(tmp_path))
    assert result.returncode == 0, result.stderr[-3000:]
    for path, size in zip(images, SIZES):
        label = cv2.imread(str(tmp_path / 'labels' / osp.basename(path)), cv2.IMREAD_UNCHANGED)
        assert label.shape == size and label.max() < NUM_CLASSES


@pytest.mark.parametrize('tool', ['tools/test.py', MMSEG_TEST], ids=['ours', 'toolbox'])
def test_test_tools_evaluate_it(tool, tiny_camvid, tmp_path):
    options = [f'{loader}.dataset.data_root={tiny_camvid}' for loader in
               ('val_dataloader', 'test_dataloader')]
    options += [f'{loader}.{key}' for loader in ('val_dataloader', 'test_dataloader')
                for key in ('num_workers=0', 'persistent_workers=False')]
    # the CamVid config tests on the held-back test split; the tiny folder has val only
    options += ['test_dataloader.dataset.data_prefix.img_path=val',
                'test_dataloader.dataset.data_prefix.seg_map_path=valannot']
    result = python_tool(tool, CONFIG, CHECKPOINT, '--work-dir', str(tmp_path),
                         '--cfg-options', *options)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert 'mIoU' in out and 'bicyclist' in out  # the per-class table of CamVid's classes


def test_publish_tool_refuses_weights_of_another_model(tmp_path):
    other = osp.join(REPO, 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py')
    result = subprocess.run([sys.executable, 'tools/publish_checkpoint.py', other, CHECKPOINT,
                             str(tmp_path / 'x.pth')], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 1
    assert 'does not fit the model of' in result.stderr and 'conv_seg' in result.stderr
    assert not osp.exists(tmp_path / 'x.pth')
