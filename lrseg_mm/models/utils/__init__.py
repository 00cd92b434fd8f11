from .channel_shuffle import channel_shuffle
from .power_iteration import dominant_left_singular_vectors, region_matrices
from .svn_block import SVNBlock

__all__ = ['SVNBlock', 'channel_shuffle', 'dominant_left_singular_vectors', 'region_matrices']
