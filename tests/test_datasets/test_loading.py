"""StrictLoadAnnotations / StrictLoadImageFromFile: the toolbox's results on good files,
errors naming the file on bad ones."""
import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from mmseg.datasets.transforms import LoadAnnotations

from lrseg_mm.datasets import StrictLoadAnnotations, StrictLoadImageFromFile


def _label_file(tmp_path, label, name='label.png'):
    path = str(tmp_path / name)
    cv2.imwrite(path, label)
    return path


def _results(path, reduce_zero_label=False, label_map=None):
    return dict(seg_map_path=path, img_path='img.png', reduce_zero_label=reduce_zero_label,
                label_map=label_map, seg_fields=[])


@pytest.mark.parametrize('reduce_zero_label, label_map', [
    (False, None), (True, None), (False, {11: 255, 3: 4}), (True, {2: 0, 0: 7})])
def test_same_labels_as_the_toolbox(tmp_path, reduce_zero_label, label_map):
    label = np.random.default_rng(0).integers(0, 12, (20, 30)).astype(np.uint8)
    label[0, :5] = 255
    path = _label_file(tmp_path, label)
    ours = StrictLoadAnnotations()(_results(path, reduce_zero_label, label_map))
    toolbox = LoadAnnotations()(_results(path, reduce_zero_label, label_map))
    assert ours['gt_seg_map'].dtype == np.uint8
    assert np.array_equal(ours['gt_seg_map'], toolbox['gt_seg_map'])
    assert ours['seg_fields'] == ['gt_seg_map']


def test_ids_below_num_classes_and_ignore_pass(tmp_path):
    label = np.array([[0, 18, 255]], np.uint8).repeat(4, 0)
    out = StrictLoadAnnotations(num_classes=19)(_results(_label_file(tmp_path, label)))
    assert set(np.unique(out['gt_seg_map'])) == {0, 18, 255}


def test_range_is_checked_after_the_label_map(tmp_path):
    # CamVid's void id 11 is mapped to 255 before the check, so it is not an error
    label = np.array([[0, 10, 11]], np.uint8).repeat(4, 0)
    path = _label_file(tmp_path, label)
    StrictLoadAnnotations(num_classes=11)(_results(path, label_map={11: 255}))
    with pytest.raises(ValueError, match=r'class ids \[11\] outside 0\.\.10'):
        StrictLoadAnnotations(num_classes=11)(_results(path))


def test_sixteen_bit_ids_are_not_wrapped(tmp_path):
    label = np.full((4, 4), 256, np.uint16)  # the toolbox's uint8 cast makes this 0
    path = _label_file(tmp_path, label)
    assert LoadAnnotations()(_results(path))['gt_seg_map'].max() == 0
    with pytest.raises(ValueError, match=f'label file {path} .* must fit in 0..255'):
        StrictLoadAnnotations()(_results(path))


def test_bad_num_classes():
    with pytest.raises(ValueError, match='num_classes must be in 1..255'):
        StrictLoadAnnotations(num_classes=0)


def test_image_loader_matches_toolbox_and_names_bad_files(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (8, 12, 3)).astype(np.uint8)
    path = str(tmp_path / 'img.png')
    cv2.imwrite(path, image)
    ours = StrictLoadImageFromFile()(dict(img_path=path))
    assert np.array_equal(ours['img'], LoadImageFromFile()(dict(img_path=path))['img'])
    open(path, 'wb').close()
    with pytest.raises(ValueError, match=f'image file {path} cannot be decoded'):
        StrictLoadImageFromFile()(dict(img_path=path))
    assert StrictLoadImageFromFile(ignore_empty=True)(dict(img_path=path)) is None
