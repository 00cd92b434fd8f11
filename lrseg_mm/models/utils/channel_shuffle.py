import torch


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet, Zhang et al. 2018).

    Args:
        x (Tensor): Feature map of shape (N, C, H, W); C must be divisible by ``groups``.
        groups (int): Number of channel groups to interleave.

    Returns:
        Tensor: Same shape as ``x``, channel ``g * (C // groups) + i`` moved to
        ``i * groups + g``.
    """
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f'channel_shuffle: {c} channels are not divisible by '
                         f'groups={groups}')
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)
