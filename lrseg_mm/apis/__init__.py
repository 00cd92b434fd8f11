"""Building segmentors and segmenting image files (deployment: :mod:`lrseg_mm.deploy`)."""
from .inferencer import (LrsegInferencer, UnreadableImageError, collect_images, label_image,
                         list_images, read_image)
from .segmentor import load_config, load_segmentor, resolve_config_path

__all__ = [
    'LrsegInferencer', 'UnreadableImageError', 'collect_images', 'label_image',
    'list_images', 'load_config', 'load_segmentor', 'read_image', 'resolve_config_path'
]
