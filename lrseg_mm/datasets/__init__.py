from .camvid import CamVidDataset
from .synthetic_streets import generate_synthetic_cityscapes

__all__ = ['CamVidDataset', 'generate_synthetic_cityscapes']
