from typing import Sequence, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule

from .power_iteration import dominant_left_singular_vectors, region_matrices

GridSize = Union[int, Tuple[int, int]]


class SVNBlock(BaseModule):
    """Reduced non-local block whose keys and values are regions' singular vectors.

    The block of LRNNet (`Jiang et al., 2020 <https://arxiv.org/abs/2006.02706>`_). A 1x1
    conv reduces the map to ``reduced_channels``; for every grid in ``grid_sizes`` the reduced
    map is cut into regions and each region's dominant left singular vector (found by power
    iteration, vectorised over regions) becomes one key/value. Every pixel of the reduced map
    attends over those S vectors (S = 64 + 16 = 80 for the default grids), the result is
    projected back by a 1x1 conv + norm and added to the input. Cost is O(HW * S * C')
    instead of the O((HW)^2 * C') of a full non-local block.

    Args:
        in_channels (int): Channels of the input and output map.
        reduced_channels (int): Channels C' of queries, keys and values. Default: 32.
        grid_sizes (Sequence[int | tuple[int, int]]): Region grids; an int ``g`` means g x g.
            Default: (8, 4), the paper's multi-scale LRNNet (Model C).
        num_iters (int): Power-iteration steps. Default: 3.
        eps (float): Norm epsilon of the power iteration. Default: 1e-6.
        use_scale (bool): Divide attention logits by sqrt(C'), as mmseg's non-local block
            does. Default: True.
        conv_cfg (dict | None): Conv layer config. Default: None.
        norm_cfg (dict | None): Norm layer config of both 1x1 convs. Default: BN.
        act_cfg (dict | None): Activation after the reducing conv. Default: ReLU.
        init_cfg (dict | list[dict] | None): Initialization config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 reduced_channels: int = 32,
                 grid_sizes: Sequence[GridSize] = (8, 4),
                 num_iters: int = 3,
                 eps: float = 1e-6,
                 use_scale: bool = True,
                 conv_cfg=None,
                 norm_cfg=dict(type='BN', requires_grad=True),
                 act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not grid_sizes:
            raise ValueError('SVNBlock needs at least one grid size')
        self.grid_sizes = [(g, g) if isinstance(g, int) else tuple(g) for g in grid_sizes]
        for g in self.grid_sizes:
            if len(g) != 2 or min(g) < 1:
                raise ValueError(f'SVNBlock grid sizes must be positive ints or pairs, got {g}')
        self.num_iters = num_iters
        self.eps = eps
        self.use_scale = use_scale
        self.reduce = ConvModule(in_channels, reduced_channels, 1, conv_cfg=conv_cfg,
                                 norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.restore = ConvModule(reduced_channels, in_channels, 1, conv_cfg=conv_cfg,
                                  norm_cfg=norm_cfg, act_cfg=None)

    @property
    def num_vectors(self) -> int:
        """S, the number of keys/values (regions over all grids)."""
        return sum(gh * gw for gh, gw in self.grid_sizes)

    def singular_vectors(self, reduced: torch.Tensor) -> torch.Tensor:
        """Keys/values of a reduced map (N, C', H, W), shape (N, S, C')."""
        n, c = reduced.shape[:2]
        vectors = [
            dominant_left_singular_vectors(
                region_matrices(reduced, grid), self.num_iters, self.eps).view(n, -1, c)
            for grid in self.grid_sizes
        ]
        return torch.cat(vectors, dim=1)

    def attention(self, reduced: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Keys/values (N, S, C') of a reduced map (N, C', H, W) and every pixel's attention
        over them, (N, S, HW), softmax over S."""
        c = reduced.shape[1]
        keys = self.singular_vectors(reduced).to(reduced.dtype)
        logits = torch.bmm(keys, reduced.flatten(2))  # queries are the reduced pixels
        if self.use_scale:
            logits = logits * c**-0.5
        return keys, logits.softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        reduced = self.reduce(x)
        keys, attention = self.attention(reduced)
        context = torch.bmm(keys.transpose(1, 2), attention.to(keys.dtype))
        return x + self.restore(context.view_as(reduced))
