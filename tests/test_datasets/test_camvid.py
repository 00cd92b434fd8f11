import cv2
import numpy as np

from lrseg_mm.datasets import CamVidDataset


def _write_camvid(root, n=2):
    for split in ('train', 'val'):
        (root / split).mkdir(parents=True)
        (root / f'{split}annot').mkdir()
        for i in range(n):
            cv2.imwrite(str(root / split / f'0001TP_{i:06d}.png'),
                        np.full((12, 16, 3), 40 * i, np.uint8))
            label = np.arange(12 * 16, dtype=np.uint8).reshape(12, 16) % 12  # ids 0..11
            cv2.imwrite(str(root / f'{split}annot' / f'0001TP_{i:06d}.png'), label)


def test_segnet_layout_and_void_is_ignored(tmp_path):
    _write_camvid(tmp_path)
    dataset = CamVidDataset(
        data_root=str(tmp_path), data_prefix=dict(img_path='train', seg_map_path='trainannot'),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    assert len(dataset) == 2
    assert len(dataset.metainfo['classes']) == 11
    seg = dataset[0]['gt_seg_map']
    raw = np.arange(12 * 16).reshape(12, 16) % 12
    assert (seg[raw == 11] == 255).all()
    assert np.array_equal(seg[raw < 11], raw[raw < 11])


def test_class_subset_keeps_void_ignored(tmp_path):
    _write_camvid(tmp_path)
    dataset = CamVidDataset(
        data_root=str(tmp_path), data_prefix=dict(img_path='val', seg_map_path='valannot'),
        metainfo=dict(classes=('road', 'car')),
        pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')])
    seg = dataset[0]['gt_seg_map']
    raw = np.arange(12 * 16).reshape(12, 16) % 12
    assert (seg[raw == 3] == 0).all() and (seg[raw == 8] == 1).all()
    assert (seg[(raw != 3) & (raw != 8)] == 255).all()
