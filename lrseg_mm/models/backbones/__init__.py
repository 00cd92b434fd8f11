from .lrnnet import LRNNet
from .mobilenet_v2_lw import MobileNetV2LW
from .shelfnet_resnet import ShelfNetResNet

__all__ = ['LRNNet', 'MobileNetV2LW', 'ShelfNetResNet']
