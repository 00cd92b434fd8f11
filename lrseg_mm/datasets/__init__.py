from .camvid import CamVidDataset
from .loading import StrictLoadAnnotations, StrictLoadImageFromFile
from .synthetic_streets import generate_synthetic_cityscapes
from .transforms import ColorJitter  # noqa: F401  (registers the transform)

__all__ = [
    'CamVidDataset', 'StrictLoadAnnotations', 'StrictLoadImageFromFile',
    'generate_synthetic_cityscapes'
]
