"""Inference on image files with the toolbox's API: overlay pictures and label PNGs.

The model is built and run by mmseg itself (``mmseg.apis.init_model`` and
``inference_model``, so the config's ``test_pipeline`` and ``test_cfg`` apply) and the
overlays are drawn by mmseg's ``SegLocalVisualizer`` with the checkpoint's class names and
palette. This module adds what a command-line tool needs around that: expanding folders,
reading images with a clear error, unique output names and a progress bar.
"""
import copy
import os
import os.path as osp
from typing import Iterable, List, Optional, Tuple, Union

import mmcv
import numpy as np
import torch.nn as nn
from mmengine.config import Config
from PIL import Image

IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def resolve_config_path(path: str) -> str:
    """Path of a config file; ``'mmseg::erfnet/x.py'`` names a config shipped with mmseg.

    Raises:
        FileNotFoundError: If the file (or the package) does not exist.
    """
    if '::' in path:
        from mmengine.config.utils import (_get_external_cfg_base_path,
                                           _get_package_and_cfg_path)
        from mmengine.utils import get_installed_path, is_installed
        package, relative = _get_package_and_cfg_path(path)
        if not is_installed(package):
            raise FileNotFoundError(f'{path}: package {package} is not installed')
        path = _get_external_cfg_base_path(get_installed_path(package), relative)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    return path


def load_segmentor(config: Union[str, Config],
                   checkpoint: Optional[str] = None,
                   device: str = 'cpu',
                   cfg_options: Optional[dict] = None,
                   drop_auxiliary_heads: bool = False) -> nn.Module:
    """Build a config's segmentor: the one way tools, benchmarks and tests build models.

    The toolbox's ``mmseg.apis.init_model`` builds the model and loads the checkpoint, then
    mmengine's ``revert_sync_batchnorm`` turns SyncBN into BN (identical in eval mode; needs
    no process group, and exports). ``init_model`` runs no weight initialisation, so
    pretrained weights a config names are never downloaded: without a checkpoint the
    weights are the layers' PyTorch defaults, which suits counting, timing and export
    checks. The checkpoint is loaded with mmengine's types allow-listed, and a refused or
    damaged file raises an error naming it
    (:func:`lrseg_mm.engine.checkpoint_errors_named`).

    Args:
        config (str | Config): Config file (``mmseg::...`` for the toolbox's shipped
            configs) or object (not modified).
        checkpoint (str, optional): Checkpoint to load. Default: None.
        device (str): Device to put the model on. Default: 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config first, as
            ``--cfg-options`` would. Default: None.
        drop_auxiliary_heads (bool): Remove ``model.auxiliary_head`` (unused at
            inference). Default: False.

    Returns:
        nn.Module: The segmentor in eval mode, with ``cfg`` and ``dataset_meta`` set as
        ``init_model`` sets them.

    Raises:
        FileNotFoundError: If the config or the checkpoint does not exist.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmseg.apis import init_model

    from lrseg_mm.engine import checkpoint_errors_named

    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, str):
        cfg = Config.fromfile(resolve_config_path(config))
    else:
        raise TypeError(f'config must be a path or an mmengine Config, got {type(config)}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'config {cfg.filename} has no `model` entry')
    if drop_auxiliary_heads:
        cfg.model.pop('auxiliary_head', None)
    if checkpoint is None:
        model = init_model(cfg, None, device=device)
    else:
        checkpoint = osp.expanduser(checkpoint)
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        with checkpoint_errors_named(checkpoint):
            model = init_model(cfg, checkpoint, device=device)
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
