from .color_jitter import ColorJitter

__all__ = ['ColorJitter']
