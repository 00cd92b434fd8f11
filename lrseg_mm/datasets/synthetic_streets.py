"""Deterministic synthetic street scenes written in the Cityscapes layout.

Each scene has a horizon, sky, buildings, trees, a road in perspective with sidewalks, cars,
people and poles, drawn as textured, noisy shapes in a random layout. Labels are Cityscapes
train ids, so mmseg's ``CityscapesDataset`` and ``IoUMetric`` read the result unchanged::

    <root>/leftImg8bit/{train,val}/synth/synth_<i>_000019_leftImg8bit.png
    <root>/gtFine/{train,val}/synth/synth_<i>_000019_gtFine_labelTrainIds.png
"""
import os
import os.path as osp
from typing import Dict, Tuple

import cv2
import numpy as np

# Cityscapes train ids of the classes drawn.
ROAD, SIDEWALK, BUILDING, POLE, VEGETATION, SKY, PERSON, CAR = 0, 1, 2, 5, 8, 10, 11, 13
USED_CLASSES = (ROAD, SIDEWALK, BUILDING, POLE, VEGETATION, SKY, PERSON, CAR)

# Base colour (RGB) and texture of each class; colours are jittered per scene.
_STYLE: Dict[int, Tuple[Tuple[int, int, int], str]] = {
    ROAD: ((90, 90, 95), 'smooth'),
    SIDEWALK: ((170, 150, 140), 'tiles'),
    BUILDING: ((150, 100, 80), 'windows'),
    POLE: ((230, 200, 40), 'smooth'),
    VEGETATION: ((50, 130, 40), 'leaves'),
    SKY: ((110, 170, 235), 'gradient'),
    PERSON: ((200, 40, 60), 'smooth'),
    CAR: ((30, 60, 180), 'shiny'),
}


def _texture(kind: str, shape: Tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A (H, W) multiplicative brightness pattern around 1 for one texture kind."""
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    if kind == 'gradient':
        return 0.8 + 0.4 * yy / max(h - 1, 1)
    if kind == 'tiles':
        period = rng.integers(6, 10)
        return 1.0 - 0.25 * (((yy // period + xx // period) % 2) == 0)
    if kind == 'windows':
        px, py = rng.integers(7, 12), rng.integers(8, 13)
        win = ((xx % px) < px // 2) & ((yy % py) < py // 2)
        return np.where(win, 0.45, 1.0).astype(np.float32)
    if kind == 'leaves':
        noise = rng.random((h // 3 + 1, w // 3 + 1)).astype(np.float32)
        return 0.6 + 0.8 * cv2.resize(noise, (w, h), interpolation=cv2.INTER_NEAREST)
    if kind == 'shiny':
        return 0.85 + 0.3 * np.sin(xx / 3.0).astype(np.float32) ** 2
    return np.ones(shape, np.float32)


def render_scene(rng: np.random.Generator, size: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
    """Draw one scene. Returns an (H, W, 3) uint8 RGB image and (H, W) uint8 train ids."""
    h, w = size
    label = np.full((h, w), SKY, np.uint8)
    horizon = int(h * rng.uniform(0.38, 0.55))

    # Buildings stand on the horizon; trees in front of some of them.
    x = int(rng.integers(-20, 0))
    while x < w:
        bw = int(rng.integers(w // 10, w // 4))
        top = int(rng.integers(int(h * 0.05), max(horizon - 10, int(h * 0.06))))
        if rng.random() < 0.85:
            label[top:horizon, max(x, 0):x + bw] = BUILDING
        x += bw + int(rng.integers(0, 12))
    for _ in range(rng.integers(1, 4)):
        cx, cy = int(rng.integers(0, w)), horizon - int(rng.integers(0, h // 8))
        axes = (int(rng.integers(w // 20, w // 8)), int(rng.integers(h // 12, h // 5)))
        cv2.ellipse(label, (cx, cy), axes, 0, 0, 360, VEGETATION, -1)

    # Road as a trapezoid from the vanishing point, sidewalks beside it.
    vx = int(w * rng.uniform(0.35, 0.65))
    half_bottom = int(w * rng.uniform(0.3, 0.6))
    label[horizon:] = SIDEWALK
    road = np.array([[vx - 4, horizon], [vx + 4, horizon], [vx + half_bottom, h],
                     [vx - half_bottom, h]], np.int32)
    cv2.fillPoly(label, [road], ROAD)

    def road_half_width(y):
        return 4 + (half_bottom - 4) * (y - horizon) / max(h - horizon, 1)

    # Poles and people on the sidewalks, cars on the road; nearer means larger.
    for _ in range(rng.integers(1, 4)):
        y = int(rng.integers(horizon + 5, h))
        side = rng.choice([-1, 1])
        px = int(vx + side * (road_half_width(y) + rng.integers(4, 20)))
        ph = int((y - horizon) * 1.6) + 10
        cv2.rectangle(label, (px - 2, y - ph), (px + 2, y), POLE, -1)
    for _ in range(rng.integers(1, 4)):
        y = int(rng.integers(horizon + 8, h))
        side = rng.choice([-1, 1])
        px = int(vx + side * (road_half_width(y) + rng.integers(8, 30)))
        scale = 0.35 + (y - horizon) / max(h - horizon, 1)
        cv2.ellipse(label, (px, y - int(18 * scale)), (max(int(6 * scale), 3),
                    max(int(18 * scale), 6)), 0, 0, 360, PERSON, -1)
    for _ in range(rng.integers(1, 4)):
        y = int(rng.integers(horizon + 10, h + 10))
        scale = 0.3 + (y - horizon) / max(h - horizon, 1)
        cw, ch = int(w * 0.18 * scale), int(h * 0.14 * scale)
        cx = int(vx + rng.uniform(-0.7, 0.7) * road_half_width(min(y, h - 1)))
        cv2.rectangle(label, (cx - cw // 2, y - ch), (cx + cw // 2, y), CAR, -1)
        cv2.rectangle(label, (cx - cw // 3, y - ch - ch // 2), (cx + cw // 3, y - ch), CAR, -1)

    image = np.zeros((h, w, 3), np.float32)
    for cls, (color, kind) in _STYLE.items():
        mask = label == cls
        if not mask.any():
            continue
        jitter = rng.uniform(0.8, 1.2, 3)
        shade = _texture(kind, (h, w), rng)[..., None]
        image[mask] = (np.array(color, np.float32) * jitter * shade)[mask]
    image *= rng.uniform(0.7, 1.3)  # global exposure
    image += rng.normal(0, 12, image.shape)
    image = cv2.GaussianBlur(np.clip(image, 0, 255), (3, 3), 0)
    return image.astype(np.uint8), label


def generate_synthetic_cityscapes(root: str,
                                  num_train: int = 200,
                                  num_val: int = 50,
                                  size: Tuple[int, int] = (128, 256),
                                  seed: int = 0) -> str:
    """Write train and val splits of synthetic street scenes in the Cityscapes layout.

    The same arguments always give the same files. Existing files are overwritten.

    Args:
        root (str): Output folder (``data_root`` of a Cityscapes config).
        num_train (int): Training scenes. Default: 200.
        num_val (int): Validation scenes. Default: 50.
        size (tuple[int, int]): (H, W) of every scene. Default: (128, 256).
        seed (int): Seed; scene ``i`` of a split uses its own derived stream. Default: 0.

    Returns:
        str: ``root``.
    """
    if num_train < 1 or num_val < 1:
        raise ValueError(f'need at least one scene per split, got train={num_train}, '
                         f'val={num_val}')
    if min(size) < 32:
        raise ValueError(f'scene size must be at least 32x32, got {size}')
    for split, count, offset in (('train', num_train, 0), ('val', num_val, 1)):
        img_dir = osp.join(root, 'leftImg8bit', split, 'synth')
        ann_dir = osp.join(root, 'gtFine', split, 'synth')
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(ann_dir, exist_ok=True)
        for i in range(count):
            rng = np.random.default_rng([seed, offset, i])
            image, label = render_scene(rng, size)
            stem = f'synth_{i:06d}_000019'
            cv2.imwrite(osp.join(img_dir, f'{stem}_leftImg8bit.png'), image[..., ::-1])
            cv2.imwrite(osp.join(ann_dir, f'{stem}_gtFine_labelTrainIds.png'), label)
    return root
