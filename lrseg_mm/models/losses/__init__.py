from .kept_pixels_ce_loss import KeptPixelsCrossEntropyLoss

__all__ = ['KeptPixelsCrossEntropyLoss']
