from .camvid import CamVidDataset
from .loading import StrictLoadAnnotations
from .synthetic_streets import generate_synthetic_cityscapes

__all__ = ['CamVidDataset', 'StrictLoadAnnotations', 'generate_synthetic_cityscapes']
