import math
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmengine.model.weight_init import constant_init

from .power_iteration import dominant_left_singular_vectors, region_matrices

GridSize = Union[int, Tuple[int, int]]


class SVNBlock(BaseModule):
    """Reduced non-local block whose keys and values are regions' singular vectors.

    The block of LRNNet (`Jiang et al., 2020 <https://arxiv.org/abs/2006.02706>`_). A 1x1
    conv reduces the map to ``reduced_channels``; for every grid in ``grid_sizes`` the reduced
    map is cut into regions and each region's dominant left singular vector (found by power
    iteration, vectorised over regions) becomes one key/value. Every pixel's query attends
    over those S vectors (S = 64 + 16 = 80 for the default grids), the result is projected
    back by a 1x1 conv + norm and added to the input. Cost is O(HW * S * C') instead of the
    O((HW)^2 * C') of a full non-local block.

    The paper fixes the bottleneck, the singular vectors as keys and values and the grids;
    the options below are the choices it leaves open. Their defaults reproduce the first
    reconstruction (non-negative queries and keys, one shared projection, fixed scale, unit
    values, an output that starts as a unit-variance perturbation).

    Args:
        in_channels (int): Channels of the input and output map.
        reduced_channels (int): Channels C' of queries, keys and values. Default: 32.
        grid_sizes (Sequence[int | tuple[int, int]]): Region grids; an int ``g`` means g x g.
            Default: (8, 4), the paper's multi-scale LRNNet (Model C).
        num_iters (int): Power-iteration steps. Default: 3.
        eps (float): Norm epsilon of the power iteration. Default: 1e-6.
        use_scale (bool): Divide attention logits by sqrt(C'), as mmseg's non-local block
            does (the start value when ``learn_temperature``). Default: True.
        zero_init (bool): Initialise the last layer of the branch (the restoring norm's
            weight and bias, or its conv without a norm) to zero, so that a new block is the
            identity, as the toolbox's ``NonLocal2d(zeros_init=True)``. Default: False.
        signed (bool): No activation after the reducing (and query) conv, so queries and keys
            take both signs, and singular vectors take the ``'energy'`` sign convention of
            :func:`dominant_left_singular_vectors`, which is stable for signed maps. Without
            it a ReLU makes queries and keys non-negative and the attention near uniform.
            Default: False.
        query_proj (bool): Queries from their own 1x1 conv of the input instead of the
            reduced map that also gives the keys and values. Default: False.
        learn_temperature (bool): Multiply the logits by a learnable positive scale
            (log-parametrised, starting at the fixed scale). Default: False.
        scale_values (bool): Values are the singular vectors times their region's RMS
            singular value (sigma / sqrt(pixels per region)) instead of unit vectors; keys
            stay unit vectors. Default: False.
        restore_norm (bool): A norm after the restoring conv. Without it the branch has no
            batch statistics, so it is the same function in training and at test time.
            Default: True.
        conv_cfg (dict | None): Conv layer config. Default: None.
        norm_cfg (dict | None): Norm layer config of the 1x1 convs. Default: BN.
        act_cfg (dict | None): Activation after the reducing conv unless ``signed``.
            Default: ReLU.
        init_cfg (dict | list[dict] | None): Initialization config. Default: None.
    """

    def __init__(self,
                 in_channels: int,
                 reduced_channels: int = 32,
                 grid_sizes: Sequence[GridSize] = (8, 4),
                 num_iters: int = 3,
                 eps: float = 1e-6,
                 use_scale: bool = True,
                 zero_init: bool = False,
                 signed: bool = False,
                 query_proj: bool = False,
                 learn_temperature: bool = False,
                 scale_values: bool = False,
                 restore_norm: bool = True,
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
        self.zero_init = zero_init
        self.sign_reference = 'energy' if signed else 'mean'
        self.scale_values = scale_values
        projection_act = None if signed else act_cfg
        self.reduce = ConvModule(in_channels, reduced_channels, 1, conv_cfg=conv_cfg,
                                 norm_cfg=norm_cfg, act_cfg=projection_act)
        self.query = ConvModule(in_channels, reduced_channels, 1, conv_cfg=conv_cfg,
                                norm_cfg=norm_cfg,
                                act_cfg=projection_act) if query_proj else None
        self.restore = ConvModule(reduced_channels, in_channels, 1, conv_cfg=conv_cfg,
                                  norm_cfg=norm_cfg if restore_norm else None, act_cfg=None)
        scale = reduced_channels**-0.5 if use_scale else 1.0
        if learn_temperature:
            self.log_logit_scale = nn.Parameter(torch.tensor(math.log(scale)))
        else:
            self.log_logit_scale = None
            self.logit_scale = scale
        if zero_init:
            self._zero_output()

    def _zero_output(self):
        if self.restore.with_norm:
            constant_init(self.restore.norm, 0)
        else:
            constant_init(self.restore.conv, 0)

    def init_weights(self):
        # the children's init_weights (ConvModule's) would reset the zeroed layer
        super().init_weights()
        if self.zero_init:
            self._zero_output()

    @property
    def num_vectors(self) -> int:
        """S, the number of keys/values (regions over all grids)."""
        return sum(gh * gw for gh, gw in self.grid_sizes)

    def keys_and_values(self, reduced: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Keys and values of a reduced map (N, C', H, W), each of shape (N, S, C')."""
        n, c = reduced.shape[:2]
        keys, values = [], []
        for grid in self.grid_sizes:
            regions = region_matrices(reduced, grid)
            u = dominant_left_singular_vectors(regions, self.num_iters, self.eps,
                                               self.sign_reference)
            keys.append(u.view(n, -1, c))
            if self.scale_values:
                # RMS singular value ||A^T u|| / sqrt(columns): region size drops out
                sigma = torch.bmm(regions.to(u.dtype).transpose(1, 2), u.unsqueeze(2))
                rms = sigma.norm(dim=1) * regions.shape[2]**-0.5
                values.append((u * rms).view(n, -1, c))
        keys = torch.cat(keys, dim=1).to(reduced.dtype)
        values = torch.cat(values, dim=1).to(reduced.dtype) if self.scale_values else keys
        return keys, values

    def attention(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Values (N, S, C') of the block's input ``x`` (N, C, H, W) and every pixel's
        attention over them, (N, S, HW), softmax over S."""
        reduced = self.reduce(x)
        queries = reduced if self.query is None else self.query(x)
        keys, values = self.keys_and_values(reduced)
        logits = torch.bmm(keys, queries.flatten(2))
        scale = self.logit_scale if self.log_logit_scale is None else self.log_logit_scale.exp()
        return values, (logits * scale).softmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values, attention = self.attention(x)
        context = torch.bmm(values.transpose(1, 2), attention.to(values.dtype))
        n, _, h, w = x.shape
        return x + self.restore(context.view(n, -1, h, w))
