"""Segmenting image files: the toolbox's ``MMSegInferencer`` writing overlays and label
PNGs named after the inputs."""
import os
import os.path as osp
from typing import Iterable, List, Optional, Tuple, Union

import mmcv
import numpy as np
from mmengine.config import Config
from mmseg.apis import MMSegInferencer
from PIL import Image

from .segmentor import load_config, load_segmentor

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


class UnreadableImageError(ValueError):
    """An input path that is missing or does not decode as an image."""


def read_image(path: str) -> np.ndarray:
    """The image file ``path`` as a BGR uint8 array (as the toolbox's loaders read it); an
    :class:`UnreadableImageError` naming it if it is missing or does not decode."""
    try:
        img = mmcv.imread(path)
    except Exception as error:  # missing files, and decoders' various errors
        raise UnreadableImageError(f'cannot read image {path!r}: {error}') from error
    if img is None:
        raise UnreadableImageError(f'cannot read image {path!r}: not a decodable image')
    return img


def list_images(folder: str) -> List[str]:
    """The image files (:data:`IMAGE_EXTENSIONS`) directly inside ``folder``, sorted;
    FileNotFoundError if it is not a folder, ValueError if it holds no images."""
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder not found: {folder}')
    files = sorted(osp.join(folder, name) for name in os.listdir(folder)
                   if name.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise ValueError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in folder {folder}')
    return files


def collect_images(inputs: Iterable[str]) -> List[str]:
    """The ``inputs`` with folders expanded to their images (:func:`list_images`);
    FileNotFoundError for a missing input, ValueError if two would share an output name."""
    paths = []
    for item in inputs:
        if osp.isdir(item):
            paths += list_images(item)
        elif osp.exists(item):
            paths.append(item)
        else:
            raise FileNotFoundError(f'input not found: {item}')
    stems = {}
    for path in paths:
        stem = osp.splitext(osp.basename(path))[0]
        if stem in stems:
            raise ValueError(f'{stems[stem]} and {path} would both be written as {stem}.png; '
                             'rename one or run them separately')
        stems[stem] = path
    return paths


def label_image(label_map: np.ndarray) -> Image.Image:
    """A label map as a PNG-ready image: 8-bit grayscale, or 16-bit above 256 classes."""
    if label_map.max(initial=0) < 256:
        return Image.fromarray(label_map.astype(np.uint8), mode='L')
    return Image.fromarray(label_map.astype(np.uint16))


class LrsegInferencer(MMSegInferencer):
    """``MMSegInferencer`` that writes ``overlays/<name>.png`` and ``labels/<name>.png`` for
    every input ``<name>.<ext>``, image by image.

    What differs from the toolbox's: the model comes from
    :func:`~lrseg_mm.apis.load_segmentor` (safe checkpoint loading, ``cfg_options``);
    :meth:`__call__` writes as it goes, names files after the inputs (the toolbox numbers
    label files, 8-bit only), shows a progress bar and stops at the first unreadable image
    with an :class:`UnreadableImageError` naming it.

    Args:
        model (str | Config): Config file (``mmseg::...`` for the toolbox's) or object.
        weights (str, optional): Checkpoint. Default: None (untrained weights).
        device (str): Device to run on. Default: 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config. Default: None.
    """

    def __init__(self, model: Union[str, Config], weights: Optional[str] = None,
                 device: str = 'cpu', cfg_options: Optional[dict] = None):
        super().__init__(load_config(model, cfg_options), weights, device=device)
        meta = getattr(self.model, 'dataset_meta', None) or {}  # None: Cityscapes' names
        self.visualizer.set_dataset_meta(meta.get('classes'), meta.get('palette'))

    def _init_model(self, cfg: Config, weights: Optional[str], device: str):
        return load_segmentor(cfg, weights, device)

    def __call__(self, inputs: Iterable[str], out_dir: str, opacity: float = 0.5,
                 with_labels: bool = False, progress: bool = True) -> List[Tuple[str, str]]:
        """Segment image files: label PNGs of the predicted class per pixel (train ids for
        Cityscapes) at the image's size, and overlays of the palette colours.

        Args:
            inputs (Iterable[str]): Image files or folders of images.
            out_dir (str): Output folder.
            opacity (float): Opacity of the class colours, in (0, 1]. Default: 0.5.
            with_labels (bool): Write class names on the overlays. Default: False.
            progress (bool): Show a progress bar. Default: True.

        Returns:
            list[tuple[str, str]]: (overlay path, label path) per image.
        """
        from tqdm import tqdm

        if not 0 < opacity <= 1:
            raise ValueError(f'opacity must be in (0, 1], got {opacity}')
        self.visualizer.alpha = opacity
        folders = osp.join(out_dir, 'overlays'), osp.join(out_dir, 'labels')
        for folder in folders:
            os.makedirs(folder, exist_ok=True)
        written = []
        for path in tqdm(collect_images(inputs), desc='inference', unit='img',
                         disable=not progress):
            img = read_image(path)
            pred = next(self.forward(data) for data in self.preprocess([img]))[0]
            name = osp.splitext(osp.basename(path))[0] + '.png'
            overlay, label = (osp.join(folder, name) for folder in folders)
            self.visualizer.add_datasample(name, mmcv.bgr2rgb(img), pred, draw_gt=False,
                                           out_file=overlay, with_labels=with_labels)
            label_image(pred.pred_sem_seg.data[0].cpu().numpy()).save(label)
            written.append((overlay, label))
        return written
