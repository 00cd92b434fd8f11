"""lrseg_mm.apis.inferencer: the toolbox's MMSegInferencer writing outputs named after the
inputs."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from helpers import LRNNET_SYNTHETIC, REPO, write_random_images
from lrseg_mm.apis import LrsegInferencer, collect_images, label_image


@pytest.fixture(scope='module')
def images(tmp_path_factory):
    return write_random_images(tmp_path_factory.mktemp('images'), [(40, 72), (33, 50)],
                               'frame')


def test_collect_images_expands_folders_and_refuses_name_clashes(images, tmp_path):
    folder = osp.dirname(images[0])
    assert collect_images([folder]) == sorted(images)
    (tmp_path / 'frame_0.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='frame_0.png'):
        collect_images([images[0], str(tmp_path / 'frame_0.jpg')])
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ValueError, match='no images'):
        collect_images([str(empty)])


def test_label_image_bit_depth():
    assert label_image(np.array([[0, 18]])).mode == 'L'
    wide = label_image(np.array([[0, 300]]))
    assert np.asarray(wide).max() == 300


def test_inferencer_returns_the_paths_it_wrote(images, tmp_path):
    # no checkpoint: untrained weights, the toolbox's default (Cityscapes) class names
    inferencer = LrsegInferencer(osp.join(REPO, LRNNET_SYNTHETIC))
    written = inferencer([osp.dirname(images[0])], str(tmp_path), progress=False)
    assert written == [(str(tmp_path / 'overlays' / osp.basename(p)),
                        str(tmp_path / 'labels' / osp.basename(p))) for p in sorted(images)]
    for (overlay, label), (h, w) in zip(written, [(40, 72), (33, 50)]):
        assert Image.open(label).size == Image.open(overlay).size == (w, h)
    with pytest.raises(ValueError, match=r'opacity must be in \(0, 1\]'):
        inferencer(images, str(tmp_path), opacity=0)
