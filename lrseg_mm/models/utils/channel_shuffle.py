import torch


def _is_channels_last(x: torch.Tensor) -> bool:
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _check(x: torch.Tensor, groups: int) -> None:
    if x.dim() != 4:
        raise ValueError(f'channel_shuffle expects (N, C, H, W), got shape {tuple(x.shape)}')
    if x.shape[1] % groups:
        raise ValueError(f'channel_shuffle: {x.shape[1]} channels are not divisible by '
                         f'groups={groups}')


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """Interleave the channels of ``groups`` equal groups (ShuffleNet, Zhang et al. 2018).

    The output keeps the input's memory format (a channels-last input gives a channels-last
    output), so a channels-last network does not fall back to NCHW after a shuffle.

    Args:
        x (Tensor): Feature map of shape (N, C, H, W); C must be divisible by ``groups``.
        groups (int): Number of channel groups to interleave.

    Returns:
        Tensor: Same shape as ``x``, channel ``g * (C // groups) + i`` moved to
        ``i * groups + g``.
    """
    _check(x, groups)
    n, c, h, w = x.shape
    if _is_channels_last(x):
        nhwc = x.permute(0, 2, 3, 1)  # a contiguous view
        out = nhwc.reshape(n, h, w, groups, c // groups).transpose(3, 4).reshape(n, h, w, c)
        return out.permute(0, 3, 1, 2)
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def add_channel_shuffle(x: torch.Tensor, y: torch.Tensor, groups: int) -> torch.Tensor:
    """``channel_shuffle(x + y, groups)``, with the sum written straight to shuffled channels.

    One pass over the maps instead of an add and a shuffle copy. The fused form uses
    ``torch.add(..., out=)``, which autograd and the tracers do not support, so while
    gradients are recorded or a model is traced/exported the two-step form runs; both give
    the same values (the same float additions).

    Args:
        x, y (Tensor): Maps of equal shape (N, C, H, W); C divisible by ``groups``.
        groups (int): Number of channel groups to interleave.

    Returns:
        Tensor: The shuffled sum, channels-last when ``x`` is.
    """
    _check(x, groups)
    if x.shape != y.shape:
        raise ValueError(f'add_channel_shuffle: shapes differ, {tuple(x.shape)} vs '
                         f'{tuple(y.shape)}')
    if ((torch.is_grad_enabled() and (x.requires_grad or y.requires_grad))
            or torch.jit.is_tracing() or torch.jit.is_scripting()
            or torch.onnx.is_in_onnx_export()):
        return channel_shuffle(x + y, groups)
    n, c, h, w = x.shape
    dtype = torch.result_type(x, y)
    if _is_channels_last(x):
        out = torch.empty((n, h, w, c), dtype=dtype, device=x.device)
        split = (n, h, w, groups, c // groups)
        torch.add(x.permute(0, 2, 3, 1).reshape(split), y.permute(0, 2, 3, 1).reshape(split),
                  out=out.view(n, h, w, c // groups, groups).transpose(3, 4))
        return out.permute(0, 3, 1, 2)
    out = torch.empty((n, c, h, w), dtype=dtype, device=x.device)
    split = (n, groups, c // groups, h, w)
    torch.add(x.reshape(split), y.reshape(split),
              out=out.view(n, c // groups, groups, h, w).transpose(1, 2))
    return out
