from .lw_refinenet_head import LightWeightRefineNetHead
from .shelf_head import ShelfHead
from .svn_head import SVNHead

__all__ = ['LightWeightRefineNetHead', 'SVNHead', 'ShelfHead']
