"""ColorJitter: the official ShelfNet-lw / BiSeNet colour jitter (PIL ImageEnhance
brightness, contrast, saturation, factors uniform in [0.5, 1.5], always applied)."""
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS
from PIL import Image, ImageEnhance

from lrseg_mm.datasets.transforms import ColorJitter


def _formula(img_bgr, fb, fc, fs):
    """The three blends written out in float64 from their definitions, each rounded the way
    8-bit Pillow images are (truncate, clip to [0, 255])."""
    def rnd(x):
        return np.clip(np.trunc(x), 0, 255)

    def grey(x):  # ITU-R 601-2 luma in Pillow's 16-bit fixed point, on B, G, R
        return np.floor((x[..., 2] * 19595 + x[..., 1] * 38470 + x[..., 0] * 7471 + 32768)
                        / 65536)

    x = img_bgr.astype(np.float64)
    x = rnd(fb * x)
    m = np.floor(grey(x).mean() + 0.5)
    x = rnd(m + fc * (x - m))
    g = grey(x)[..., None]
    return rnd(g + fs * (x - g)).astype(np.uint8)


def _pil(img_bgr, fb, fc, fs):
    """What the official transform does to the same image (PIL works in RGB)."""
    im = Image.fromarray(np.ascontiguousarray(img_bgr[..., ::-1]))
    im = ImageEnhance.Brightness(im).enhance(fb)
    im = ImageEnhance.Contrast(im).enhance(fc)
    im = ImageEnhance.Color(im).enhance(fs)
    return np.asarray(im)[..., ::-1]


def test_seeded_factors_and_result():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    transform = TRANSFORMS.build(dict(type='ColorJitter', brightness=0.5, contrast=0.5,
                                      saturation=0.5))
    np.random.seed(7)
    out = transform(dict(img=img.copy()))
    np.random.seed(7)
    expected = tuple(np.random.uniform(0.5, 1.5) for _ in range(3))  # b, c, s in order
    assert out['color_jitter_factors'] == expected
    assert all(0.5 <= f <= 1.5 for f in expected)
    ref = _formula(img, *expected)
    # float64 formula vs Pillow's float32 blend: a truncation may land one level apart
    assert np.abs(out['img'].astype(int) - ref).max() <= 1
    assert (out['img'] == ref).mean() > 0.99
    assert np.array_equal(out['img'], _pil(img, *expected))


@pytest.mark.parametrize('seed', range(5))
def test_equals_pil_image_enhance_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    img[0, 0] = 255  # saturating pixels exercise the clipping of factors > 1
    for factors in [rng.uniform(0.5, 1.5, 3) for _ in range(20)] + [(1.5, 1.5, 1.5),
                                                                     (0.5, 0.5, 0.5)]:
        assert np.array_equal(ColorJitter.jitter(img, *factors), _pil(img, *factors))


def test_by_hand_on_a_two_pixel_image():
    img = np.array([[[10, 20, 30], [200, 100, 50]]], dtype=np.uint8)  # B, G, R
    # brightness 1.5: 15, 30, 45 / 300 -> 255, 150, 75
    out = ColorJitter.jitter(img, brightness=1.5)
    assert out.tolist() == [[[15, 30, 45], [255, 150, 75]]]
    # contrast 0.5 on that: greys 0.299 R + 0.587 G + 0.114 B are 32.775 -> 33 and
    # 139.545 -> 140, mean 86.5 rounded half up to 87; then 87 + 0.5 * (x - 87), truncated
    out = ColorJitter.jitter(out, contrast=0.5)
    assert out.tolist() == [[[51, 58, 66], [171, 118, 81]]]
    # saturation 0 gives the grey image
    grey = ColorJitter.jitter(img, saturation=0.)
    assert (grey == grey[..., :1]).all()
    assert grey[0, 0, 0] == (30 * 19595 + 20 * 38470 + 10 * 7471 + 32768) >> 16


def test_disabled_steps_and_config():
    img = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    out = ColorJitter(brightness=0, contrast=None, saturation=0)(dict(img=img.copy()))
    assert np.array_equal(out['img'], img)
    assert out['color_jitter_factors'] == (None, None, None)
    with pytest.raises(ValueError):
        ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError):
        ColorJitter.jitter(img.astype(np.float32), 1.2)


def test_shelfnet_lw_pipeline_jitters_first():
    from mmengine.config import Config
    from helpers import REPO
    cfg = Config.fromfile(
        f'{REPO}/configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py')
    types = [t['type'] for t in cfg.train_pipeline]
    assert types.index('ColorJitter') < types.index('RandomChoiceResize')
    assert 'PhotoMetricDistortion' not in types
