"""tools/infer.py (lrseg_mm.apis.LrsegInferencer) and the toolbox's own inference API on our
configs."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmseg.utils import get_classes, get_palette
from PIL import Image

from helpers import LRNNET_SYNTHETIC, REPO, load_tool, write_random_images
from lrseg_mm.apis import UnreadableImageError, load_segmentor, read_image

CONFIG = osp.join(REPO, LRNNET_SYNTHETIC)  # its test pipeline keeps the image size
SIZES = [(48, 80), (37, 61)]  # two images, one of odd size


def _load_tool():
    return load_tool('tools/infer.py')


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """An mmengine-style checkpoint of the untrained model, with Cityscapes class names."""
    model = load_segmentor(CONFIG)
    path = str(tmp_path_factory.mktemp('ckpt') / 'model.pth')
    meta = dict(dataset_meta=dict(classes=get_classes('cityscapes'),
                                  palette=get_palette('cityscapes')))
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    return path


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    return write_random_images(tmp_path_factory.mktemp('images'), SIZES, 'street')


@pytest.fixture(scope='module')
def tool():
    return _load_tool()


def test_infer_writes_overlays_and_labels(tool, checkpoint, images, tmp_path, capsys):
    out_dir = str(tmp_path / 'out')
    assert tool.main([CONFIG, checkpoint, *images, '--out-dir', out_dir]) == 0
    captured = capsys.readouterr()
    assert '2/2' in captured.err  # the progress bar
    for path, (h, w) in zip(images, SIZES):
        name = osp.basename(path)
        overlay = mmcv.imread(osp.join(out_dir, 'overlays', name))
        assert overlay.shape == (h, w, 3)
        # colours are painted over the picture
        assert not np.array_equal(overlay, mmcv.imread(path))
        label = Image.open(osp.join(out_dir, 'labels', name))
        assert label.mode == 'L' and label.size == (w, h)
        assert np.asarray(label).max() < 19


def test_labels_are_the_toolbox_prediction(tool, checkpoint, images, tmp_path):
    from mmseg.apis import inference_model
    out_dir = str(tmp_path / 'out')
    assert tool.main([CONFIG, checkpoint, images[1], '--out-dir', out_dir,
                      '--no-progress']) == 0
    model = load_segmentor(CONFIG, checkpoint)
    expected = inference_model(model, images[1]).pred_sem_seg.data[0].numpy()
    label = np.asarray(Image.open(osp.join(out_dir, 'labels', osp.basename(images[1]))))
    assert np.array_equal(label, expected)


def test_unreadable_image_is_named(tool, checkpoint, images, tmp_path, capsys):
    bad = tmp_path / 'broken.png'
    bad.write_text('not an image')
    with pytest.raises(UnreadableImageError, match='broken.png'):
        read_image(str(bad))
    out_dir = str(tmp_path / 'out')
    assert tool.main([CONFIG, checkpoint, images[0], str(bad), '--out-dir', out_dir,
                      '--no-progress']) == 1
    assert "cannot read image '" + str(bad) in capsys.readouterr().err
    # the readable image before it was written
    assert osp.isfile(osp.join(out_dir, 'labels', osp.basename(images[0])))


def test_missing_input_is_named(tool, checkpoint, tmp_path, capsys):
    missing = str(tmp_path / 'nowhere.jpg')
    assert tool.main([CONFIG, checkpoint, missing, '--out-dir', str(tmp_path)]) == 2
    assert 'input not found: ' + missing in capsys.readouterr().err


def _toolbox_config(name):
    """Our config as the toolbox's APIs get it; the Cityscapes one resizes to 2x instead of
    to 1024x2048, to stay small."""
    from mmengine.config import Config
    cfg = Config.fromfile(TOOLBOX_API_CONFIGS[name])
    for pipeline in (cfg.test_pipeline, cfg.test_dataloader.dataset.pipeline):
        for transform in pipeline:
            if transform['type'] == 'Resize':
                transform['scale'] = (160, 96)
    return cfg


# the demo config (synthetic data) and a Cityscapes config (the toolbox's dataset settings)
TOOLBOX_API_CONFIGS = {
    'synthetic': CONFIG,
    'cityscapes': osp.join(REPO, 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'),
}


@pytest.mark.parametrize('name', sorted(TOOLBOX_API_CONFIGS))
def test_toolbox_inferencer_runs_our_config(name, checkpoint, images, tmp_path):
    from mmseg.apis import MMSegInferencer
    inferencer = MMSegInferencer(model=_toolbox_config(name), weights=checkpoint,
                                 device='cpu')
    result = inferencer(images, out_dir=str(tmp_path))
    assert [p.shape for p in result['predictions']] == SIZES
    assert osp.isfile(osp.join(tmp_path, 'vis', osp.basename(images[0])))
    assert osp.isfile(osp.join(tmp_path, 'pred', '00000001_pred.png'))


@pytest.mark.parametrize('name', sorted(TOOLBOX_API_CONFIGS))
def test_toolbox_inference_model_runs_our_config(name, checkpoint, images):
    from mmseg.apis import inference_model, init_model
    model = init_model(_toolbox_config(name), checkpoint, device='cpu')
    # one call per image: the toolbox batches a list, which needs equal sizes
    results = [inference_model(model, path) for path in images]
    assert [r.pred_sem_seg.shape for r in results] == SIZES
    assert model.dataset_meta['classes'] == get_classes('cityscapes')
