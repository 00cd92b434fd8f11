"""Inference on image files with the toolbox's API: overlay pictures and label PNGs.

The model is built and run by mmseg itself (``mmseg.apis.init_model`` and
``inference_model``, so the config's ``test_pipeline`` and ``test_cfg`` apply) and the
overlays are drawn by mmseg's ``SegLocalVisualizer`` with the checkpoint's class names and
palette. This module adds what a command-line tool needs around that: expanding folders,
reading images with a clear error, unique output names and a progress bar.
"""
import os
import os.path as osp
import warnings
from typing import Iterable, List, Optional, Tuple

import mmcv
import numpy as np
import torch.nn as nn
from PIL import Image

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def load_segmentor(config, checkpoint: Optional[str] = None, device: str = 'cpu',
                   cfg_options: Optional[dict] = None) -> nn.Module:
    """Build a config's segmentor for inference with the toolbox's ``init_model``.

    SyncBN layers become BN (identical in eval mode; needs no process group, and exports).
    Without a checkpoint the weights are the layers' default initialisation.

    Args:
        config (str | Config): Config file or object.
        checkpoint (str, optional): Checkpoint to load. Default: None.
        device (str): Device to put the model on. Default: 'cpu'.
        cfg_options (dict, optional): Config overrides. Default: None.

    Returns:
        nn.Module: The segmentor in eval mode, with ``cfg`` and ``dataset_meta`` set as
        ``init_model`` sets them.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmseg.apis import init_model

    if checkpoint is not None and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', UserWarning)  # the toolbox's deprecation notices
        model = init_model(config, checkpoint, device=device, cfg_options=cfg_options)
    drop_annotation_loaders(model.cfg)
    return revert_sync_batchnorm(model).eval()


def drop_annotation_loaders(cfg) -> None:
    """Remove label loaders from ``cfg.test_pipeline`` (in place): there are no labels.

    ``inference_model`` removes transforms whose type is exactly ``'LoadAnnotations'``; this
    also removes subclasses registered under other names (``StrictLoadAnnotations``).
    """
    from mmseg.datasets.transforms import LoadAnnotations
    from mmseg.registry import TRANSFORMS

    def is_label_loader(transform):
        kind = transform.get('type')
        cls = TRANSFORMS.get(kind) if isinstance(kind, str) else kind
        return isinstance(cls, type) and issubclass(cls, LoadAnnotations)

    if cfg.get('test_pipeline'):
        cfg.test_pipeline = [t for t in cfg.test_pipeline if not is_label_loader(t)]


class UnreadableImageError(ValueError):
    """An input path that is missing or does not decode as an image."""


def read_image(path: str) -> np.ndarray:
    """Read an image file as a BGR uint8 array (as the toolbox's loaders do).

    Raises:
        UnreadableImageError: Naming the file, if it is missing or not a decodable image.
    """
    if not osp.isfile(path):
        raise UnreadableImageError(f'cannot read image {path!r}: no such file')
    with open(path, 'rb') as f:
        content = f.read()
    try:
        img = mmcv.imfrombytes(content, flag='color')
    except Exception as error:  # decoders raise various types on corrupt data
        raise UnreadableImageError(f'cannot read image {path!r}: {error}') from error
    if img is None:
        raise UnreadableImageError(f'cannot read image {path!r}: not a decodable image '
                                   f'({len(content)} bytes)')
    return img


def collect_images(inputs: Iterable[str]) -> List[str]:
    """Expand folders to the image files directly inside them (sorted); keep files as given.

    Raises:
        FileNotFoundError: If an input does not exist.
        ValueError: If a folder holds no images or two inputs would get the same output name.
    """
    paths = []
    for item in inputs:
        if osp.isdir(item):
            found = sorted(
                osp.join(item, name) for name in os.listdir(item)
                if name.lower().endswith(IMAGE_EXTENSIONS))
            if not found:
                raise ValueError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in folder {item}')
            paths += found
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


class OverlayPainter:
    """Draws predictions over images with mmseg's ``SegLocalVisualizer``.

    Args:
        dataset_meta (dict): ``classes`` and ``palette`` (a segmentor's ``dataset_meta``).
        opacity (float): Opacity of the coloured labels, in (0, 1]. Default: 0.5.
        with_labels (bool): Write class names on the regions. Default: False.
    """

    _count = 0

    def __init__(self, dataset_meta: dict, opacity: float = 0.5, with_labels: bool = False):
        from mmseg.visualization import SegLocalVisualizer

        if not 0 < opacity <= 1:
            raise ValueError(f'opacity must be in (0, 1], got {opacity}')
        # the visualizer registry needs a unique name per instance
        OverlayPainter._count += 1
        self.visualizer = SegLocalVisualizer(
            name=f'lrseg_overlay_{os.getpid()}_{OverlayPainter._count}', alpha=opacity)
        self.visualizer.set_dataset_meta(dataset_meta.get('classes'),
                                         dataset_meta.get('palette'))
        self.with_labels = with_labels

    def draw(self, img_bgr: np.ndarray, data_sample, out_file: Optional[str] = None):
        """The overlay as an RGB array; also written to ``out_file`` when given."""
        self.visualizer.add_datasample(
            osp.basename(out_file or 'overlay'), mmcv.bgr2rgb(img_bgr), data_sample,
            draw_gt=False, draw_pred=True, show=False, out_file=out_file,
            with_labels=self.with_labels)
        return self.visualizer.get_image()


def infer_images(model: nn.Module,
                 paths: Iterable[str],
                 out_dir: str,
                 opacity: float = 0.5,
                 with_labels: bool = False,
                 progress: bool = True) -> List[Tuple[str, str]]:
    """Segment image files; write ``overlays/<name>.png`` and ``labels/<name>.png``.

    Label PNGs hold the predicted class index of every pixel (train ids for Cityscapes) at
    the image's own size; overlays show the palette colours over the image.

    Args:
        model (nn.Module): A segmentor from :func:`load_segmentor` (or ``init_model``).
        paths (Iterable[str]): Image files (see :func:`collect_images`).
        out_dir (str): Output folder.
        opacity (float): Overlay opacity. Default: 0.5.
        with_labels (bool): Write class names on the overlays. Default: False.
        progress (bool): Show a progress bar. Default: True.

    Returns:
        list[tuple[str, str]]: (overlay path, label path) per image.

    Raises:
        UnreadableImageError: For the first input that is not a readable image (the images
            before it are written).
    """
    from mmseg.apis import inference_model
    from tqdm import tqdm

    paths = list(paths)
    overlay_dir, label_dir = osp.join(out_dir, 'overlays'), osp.join(out_dir, 'labels')
    os.makedirs(overlay_dir, exist_ok=True)
    os.makedirs(label_dir, exist_ok=True)
    painter = OverlayPainter(model.dataset_meta, opacity, with_labels)
    written = []
    for path in tqdm(paths, desc='inference', unit='img', disable=not progress):
        img = read_image(path)
        result = inference_model(model, img)
        name = osp.splitext(osp.basename(path))[0] + '.png'
        overlay_path, label_path = osp.join(overlay_dir, name), osp.join(label_dir, name)
        painter.draw(img, result, overlay_path)
        label_image(result.pred_sem_seg.data[0].cpu().numpy()).save(label_path)
        written.append((overlay_path, label_path))
    return written
