from .lrnnet import LRNNet

__all__ = ['LRNNet']
