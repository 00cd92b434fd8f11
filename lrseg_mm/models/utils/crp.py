import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule


class ChainedResidualPooling(BaseModule):
    """Chained residual pooling (CRP) of Light-Weight RefineNet.

    `Light-Weight RefineNet for Real-Time Semantic Segmentation
    <https://arxiv.org/abs/1810.03272>`_ (Nekrasov, Shen and Reid, BMVC 2018) replaces
    RefineNet's 3x3 pooling convs with 1x1 convs. A chain of ``num_stages`` stages each
    max-pools the previous stage's output (stride 1, so the size is kept), passes it through a
    bias-free 1x1 conv, and adds the result to a running sum that starts at the input::

        top = x
        repeat num_stages: top = conv1x1(maxpool(top)); x = x + top

    There is no activation inside the block (the official code applies it before). Each stage
    costs ``channels ** 2`` weights, so the default block on 256 channels has
    4 * 256 * 256 = 262,144 parameters.

    Args:
        channels (int): Input and output channels.
        num_stages (int): Length of the pooling chain. Default: 4.
        pool_kernel_size (int): Max-pool window, odd so padding keeps the size. Default: 5.
        conv_cfg (dict | None): Config of the 1x1 convs. Default: None (Conv2d).
        norm_cfg (dict | None): Norm after each 1x1 conv; the official block has none.
            Default: None.
        init_cfg (dict | list[dict] | None): Initialization config. Default: None.
    """

    def __init__(self,
                 channels: int,
                 num_stages: int = 4,
                 pool_kernel_size: int = 5,
                 conv_cfg=None,
                 norm_cfg=None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if num_stages < 1:
            raise ValueError(f'ChainedResidualPooling needs num_stages >= 1, got {num_stages}')
        if pool_kernel_size < 1 or pool_kernel_size % 2 == 0:
            raise ValueError('ChainedResidualPooling needs an odd positive pool_kernel_size '
                             f'(stride-1 pooling must keep the size), got {pool_kernel_size}')
        self.pool = nn.MaxPool2d(pool_kernel_size, stride=1, padding=pool_kernel_size // 2)
        self.convs = nn.ModuleList(
            ConvModule(channels, channels, 1, bias=False, conv_cfg=conv_cfg,
                       norm_cfg=norm_cfg, act_cfg=None) for _ in range(num_stages))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top = x
        for conv in self.convs:
            if top.device.type == 'cpu':
                # PyTorch's CPU max-pool is 10-15x faster on channels-last maps; same values.
                top = top.contiguous(memory_format=torch.channels_last)
            top = conv(self.pool(top))
            x = x + top
        return x
