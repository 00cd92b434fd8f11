from .lrnnet import LRNNet
from .mobilenet_v2_lw import MobileNetV2LW

__all__ = ['LRNNet', 'MobileNetV2LW']
