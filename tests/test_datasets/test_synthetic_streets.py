import glob
import os.path as osp

import cv2
import numpy as np
import pytest
from mmseg.datasets import CityscapesDataset

from lrseg_mm.datasets import generate_synthetic_cityscapes
from lrseg_mm.datasets.synthetic_streets import USED_CLASSES


def _files(root):
    return sorted(glob.glob(osp.join(root, '**', '*.png'), recursive=True))


def test_deterministic(tmp_path):
    a = generate_synthetic_cityscapes(str(tmp_path / 'a'), 3, 2, (64, 128), seed=5)
    b = generate_synthetic_cityscapes(str(tmp_path / 'b'), 3, 2, (64, 128), seed=5)
    c = generate_synthetic_cityscapes(str(tmp_path / 'c'), 3, 2, (64, 128), seed=6)
    fa, fb, fc = _files(a), _files(b), _files(c)
    assert len(fa) == 10
    assert all(np.array_equal(cv2.imread(x), cv2.imread(y)) for x, y in zip(fa, fb))
    assert not all(np.array_equal(cv2.imread(x), cv2.imread(y)) for x, y in zip(fa, fc))


def test_read_by_toolbox_cityscapes_dataset(synthetic_root):
    dataset = CityscapesDataset(
        data_root=synthetic_root,
        data_prefix=dict(img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    assert len(dataset) == 8
    sample = dataset[0]
    assert sample['img'].shape == (64, 128, 3)
    labels = np.unique(sample['gt_seg_map'])
    assert set(labels) <= set(USED_CLASSES)
    assert len(labels) >= 4  # a scene has several classes, not one colour


def test_every_class_appears(synthetic_root):
    seen = set()
    for path in glob.glob(osp.join(synthetic_root, 'gtFine', '*', '*', '*.png')):
        seen |= set(np.unique(cv2.imread(path, cv2.IMREAD_UNCHANGED)).tolist())
    assert seen == set(USED_CLASSES)


@pytest.mark.parametrize('kwargs, match', [(dict(num_train=0), 'at least one scene'),
                                           (dict(size=(16, 64)), 'at least 32x32')])
def test_bad_arguments(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate_synthetic_cityscapes(str(tmp_path), **kwargs)
