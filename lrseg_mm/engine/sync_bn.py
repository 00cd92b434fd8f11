"""Synchronized batch norm for CPU process groups (gloo).

``torch.nn.SyncBatchNorm`` refuses CPU tensors once a process group with more than one
process exists, and DDP refuses CPU modules that contain it. So that ``SyncBN`` configs run
unchanged under ``--launcher pytorch`` on CPU, :func:`convert_cpu_sync_batchnorm` swaps those
layers for :class:`CPUSyncBatchNorm` when DDP wraps a CPU model (see
:class:`lrseg_mm.engine.CPUCapableDistributedDataParallel`). With CUDA nothing is swapped.
"""
import torch
import torch.distributed as dist
from torch.nn.modules.batchnorm import _BatchNorm


class _AllReduceSum(torch.autograd.Function):
    """Sum over processes; the gradient of every process's input is the sum of all
    processes' output gradients (each process's loss depends on every input)."""

    @staticmethod
    def forward(ctx, tensor, group):
        ctx.group = group
        tensor = tensor.clone()
        dist.all_reduce(tensor, group=group)
        return tensor

    @staticmethod
    def backward(ctx, grad):
        grad = grad.clone()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


class CPUSyncBatchNorm(_BatchNorm):
    """Batch norm whose training statistics are taken over the batches of all processes.

    The same computation as ``torch.nn.SyncBatchNorm``, written with autograd-aware
    all-reduces so that it runs on any backend, gloo included: per channel, the global mean
    is the all-reduced sum over the all-reduced count, the global (biased) variance the
    all-reduced sum of squared deviations from it. Gradients flow through both all-reduces,
    so the result equals plain batch norm over the concatenated global batch, forward and
    backward. Running statistics use the unbiased global variance, as batch norm does. Eval
    mode, or a single process, is plain batch norm. Statistics are computed in float32 (or
    float64 for a float64 input), also when autocast hands in bfloat16 or float16, and the
    output has the input's dtype.

    Args:
        num_features (int): Channels C of the (N, C, ...) input.
        eps (float): Added to the variance. Default: 1e-5.
        momentum (float | None): Running-statistics momentum; None for a cumulative
            average. Default: 0.1.
        affine (bool): Learnable scale and shift. Default: True.
        track_running_stats (bool): Keep running statistics. Default: True.
        process_group (ProcessGroup | None): Group to synchronize over; None for the whole
            world. Default: None.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f'CPUSyncBatchNorm expects (N, C, ...) input, got {input.dim()}D')

    def _world_size(self) -> int:
        if not (dist.is_available() and dist.is_initialized()):
            return 1
        return dist.get_world_size(self.process_group or dist.group.WORLD)

    def forward(self, input):
        self._check_input_dim(input)
        if not self.training or self._world_size() == 1:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)

        group = self.process_group or dist.group.WORLD
        dims = [0] + list(range(2, input.dim()))
        # Statistics in at least float32, as torch's SyncBatchNorm computes them: under
        # autocast the input is bfloat16/float16, whose sums lose most of their digits.
        x = input.to(torch.promote_types(input.dtype, torch.float32))
        count = x.new_tensor([x.numel() / x.shape[1]])
        sum_and_count = _AllReduceSum.apply(torch.cat([x.sum(dims), count]), group)
        total = sum_and_count[-1]
        mean = sum_and_count[:-1] / total
        shape = [1, -1] + [1] * (x.dim() - 2)
        centred = x - mean.view(shape)
        var = _AllReduceSum.apply(centred.pow(2).sum(dims), group) / total
        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        if self.track_running_stats:
            with torch.no_grad():
                unbiased = var * (total / (total - 1).clamp(min=1))
                self.running_mean.lerp_(mean.detach().to(self.running_mean.dtype), factor)
                self.running_var.lerp_(unbiased.detach().to(self.running_var.dtype), factor)
        return out.to(input.dtype)  # batch norm keeps its input's dtype


def convert_cpu_sync_batchnorm(module: torch.nn.Module) -> torch.nn.Module:
    """Replace every ``torch.nn.SyncBatchNorm`` in ``module`` by :class:`CPUSyncBatchNorm`.

    The new layers share the old ones' parameters and buffers (so an optimizer or a state
    dict sees the same tensors under the same names) and their training flag.

    Returns:
        nn.Module: ``module`` with the layers replaced, or the replacement when ``module``
        itself is a ``SyncBatchNorm``.
    """
    if isinstance(module, torch.nn.SyncBatchNorm):
        new = CPUSyncBatchNorm(module.num_features, module.eps, module.momentum,
                               module.affine, module.track_running_stats,
                               module.process_group)
        if module.affine:
            new.weight, new.bias = module.weight, module.bias
        if module.track_running_stats:
            new.running_mean = module.running_mean
            new.running_var = module.running_var
            new.num_batches_tracked = module.num_batches_tracked
        new.train(module.training)
        return new
    for name, child in module.named_children():
        converted = convert_cpu_sync_batchnorm(child)
        if converted is not child:
            setattr(module, name, converted)
    return module
