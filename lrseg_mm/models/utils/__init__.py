from .channel_shuffle import channel_shuffle
from .crp import ChainedResidualPooling
from .power_iteration import dominant_left_singular_vectors, region_matrices
from .s_block import SBlock
from .svn_block import SVNBlock

__all__ = [
    'ChainedResidualPooling', 'SBlock', 'SVNBlock', 'channel_shuffle',
    'dominant_left_singular_vectors', 'region_matrices'
]
