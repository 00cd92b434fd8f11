"""Multiplicative colour jitter as in the ShelfNet-lw / BiSeNet training code."""
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS


def _blend(degenerate: np.ndarray, img: np.ndarray, factor: float) -> np.ndarray:
    """``degenerate + factor * (img - degenerate)`` with Pillow's ``Image.blend`` rounding.

    Pillow computes the blend of 8-bit images in single precision (``float alpha``),
    truncates towards zero and, when ``factor`` is outside [0, 1], clips to [0, 255]; all
    three cases are ``clip(trunc(x), 0, 255)`` here, in float32 like Pillow.
    """
    degenerate = degenerate.astype(np.float32)
    out = degenerate + np.float32(factor) * (img.astype(np.float32) - degenerate)
    return np.clip(np.trunc(out), 0, 255).astype(np.uint8)


def _luma(img_bgr: np.ndarray) -> np.ndarray:
    """Pillow's RGB -> "L" conversion, ``(19595 R + 38470 G + 7471 B + 2^15) >> 16``.

    These are ITU-R 601-2's 0.299 / 0.587 / 0.114 in 16-bit fixed point, the integer
    formula of Pillow's ``Convert.c`` (``L24``), which ``ImageEnhance.Contrast`` and
    ``ImageEnhance.Color`` use for their grey image.
    """
    b, g, r = (img_bgr[..., i].astype(np.int64) for i in range(3))
    return ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16).astype(np.uint8)


@TRANSFORMS.register_module()
class ColorJitter(BaseTransform):
    """Brightness, contrast and saturation jitter, each always applied, multiplicative.

    The colour augmentation of the official ShelfNet-lw training
    (`ShelfNet18_realtime/cityscapes.py
    <https://github.com/juntang-zhuang/ShelfNet/tree/citys_lw>`_, with ``ColorJitter`` from
    BiSeNet's ``transform.py``, https://github.com/CoinCheung/BiSeNet): three factors drawn
    uniformly from ``[max(1 - x, 0), 1 + x]`` for ``x`` = ``brightness``, ``contrast``,
    ``saturation``, applied in that order with PIL's ``ImageEnhance``:

    * brightness ``f``: ``f * img`` (blend with black);
    * contrast ``f``: ``m + f * (img - m)`` with ``m`` the rounded mean of the image's grey
      ("L") version, one value for the whole image;
    * saturation ``f``: ``L + f * (img - L)`` with ``L`` each pixel's grey value.

    Each step rounds like Pillow (float32, truncation, clipping to [0, 255]; see
    :func:`_blend`), so on RGB images the result equals ``ImageEnhance`` bit for bit (the
    tests check it). Unlike mmseg's ``PhotoMetricDistortion`` there is no probability per
    step, no hue change and brightness is a factor, not an offset. The contrast mean is the
    whole image's: the official pipeline jitters before scaling and cropping, so put this
    transform right after loading to match it.

    The factors come from NumPy's global generator (seeded per worker by mmengine) and are
    stored in ``results['color_jitter_factors']``.

    Args:
        brightness (float): Brightness factor range half-width; 0 or None disables it.
            Default: 0.5.
        contrast (float): Contrast factor range half-width. Default: 0.5.
        saturation (float): Saturation factor range half-width. Default: 0.5.
    """

    def __init__(self, brightness=0.5, contrast=0.5, saturation=0.5):
        self.ranges = {}
        for name, value in (('brightness', brightness), ('contrast', contrast),
                            ('saturation', saturation)):
            if value is not None and value < 0:
                raise ValueError(f'{name} must be >= 0, got {value}')
            self.ranges[name] = (max(1. - value, 0.), 1. + value) if value else None

    @cache_randomness
    def _draw_factors(self):
        """One uniform factor per enabled step, in the order brightness, contrast,
        saturation (None for a disabled step)."""
        return tuple(
            None if r is None else float(np.random.uniform(r[0], r[1]))
            for r in self.ranges.values())

    @staticmethod
    def jitter(img: np.ndarray, brightness=None, contrast=None,
               saturation=None) -> np.ndarray:
        """Apply the given factors (None skips a step) to a BGR uint8 image."""
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise ValueError('ColorJitter expects a BGR uint8 image of shape (H, W, 3), got '
                             f'{img.dtype} {img.shape}')
        if brightness is not None:
            img = _blend(np.zeros_like(img), img, brightness)
        if contrast is not None:
            # ImageStat's mean of the grey image, rounded half up (int(mean + 0.5))
            mean = int(_luma(img).mean(dtype=np.float64) + 0.5)
            img = _blend(np.full_like(img, mean), img, contrast)
        if saturation is not None:
            img = _blend(np.repeat(_luma(img)[..., None], 3, axis=2), img, saturation)
        return img

    def transform(self, results: dict) -> dict:
        factors = self._draw_factors()
        results['img'] = self.jitter(results['img'], *factors)
        results['color_jitter_factors'] = factors
        return results

    def __repr__(self):
        args = ', '.join(f'{k}={None if r is None else r[1] - 1.}'
                         for k, r in self.ranges.items())
        return f'{self.__class__.__name__}({args})'
