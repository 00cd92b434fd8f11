import torch
import torch.nn.functional as F


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet, Zhang et al. 2018).

    Runs PyTorch's native kernel, which is vectorised and keeps the input's memory format
    (a channels-last input gives a channels-last output). While a model is traced, scripted
    or exported to ONNX the reshape/transpose form runs instead, which exporters map to
    Reshape/Transpose; both give the same values.

    Args:
        x (Tensor): Feature map of shape (N, C, H, W); C must be divisible by ``groups``.
        groups (int): Number of channel groups to interleave.

    Returns:
        Tensor: Same shape as ``x``, channel ``g * (C // groups) + i`` moved to
        ``i * groups + g``.
    """
    if x.dim() != 4:
        raise ValueError(f'channel_shuffle expects (N, C, H, W), got shape {tuple(x.shape)}')
    n, c, h, w = x.shape
    if c % groups:
        raise ValueError(f'channel_shuffle: {c} channels are not divisible by '
                         f'groups={groups}')
    if torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export():
        return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)
    return F.channel_shuffle(x, groups)
