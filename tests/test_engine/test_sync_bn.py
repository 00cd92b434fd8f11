"""CPUSyncBatchNorm: in 2 gloo processes it equals BN over the whole batch, both ways."""
import os.path as osp

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lrseg_mm.engine import CPUSyncBatchNorm, convert_cpu_sync_batchnorm

from tolerances import assert_within_rounding

CHANNELS = 6


def _data():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(4, CHANNELS, 5, 7, generator=gen) * 3 + 2
    grad = torch.randn(4, CHANNELS, 5, 7, generator=gen)
    weight, bias = torch.rand(CHANNELS, generator=gen) + 0.5, torch.randn(CHANNELS,
                                                                          generator=gen)
    return x, grad, weight, bias


# Each case: the samples of the batch of 4 that rank 0 and rank 1 hold; memory format;
# momentum (None: cumulative average).
CASES = {
    'equal split': ((slice(0, 2), slice(2, 4)), torch.contiguous_format, 0.1),
    'unequal split, channels-last': ((slice(0, 1), slice(1, 4)), torch.channels_last, 0.1),
    'cumulative average': ((slice(0, 2), slice(2, 4)), torch.contiguous_format, None),
}


def _worker(rank, rendezvous, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{rendezvous}', rank=rank,
                            world_size=2)
    x, grad, weight, bias = _data()
    results = {}
    for name, (split, memory_format, momentum) in CASES.items():
        bn = CPUSyncBatchNorm(CHANNELS, momentum=momentum)
        with torch.no_grad():
            bn.weight.copy_(weight)
            bn.bias.copy_(bias)
        local = x[split[rank]].contiguous(memory_format=memory_format).requires_grad_(True)
        for _ in range(2):  # two steps, so running statistics average two batches
            out = bn(local)
            bn.weight.grad = bn.bias.grad = local.grad = None
            (out * grad[split[rank]]).sum().backward()
        # DDP would sum (then average) the parameter gradients over processes
        for param in (bn.weight, bn.bias):
            dist.all_reduce(param.grad)
        results[name] = dict(out=out.detach(), input_grad=local.grad,
                             weight_grad=bn.weight.grad, bias_grad=bn.bias.grad,
                             running_mean=bn.running_mean, running_var=bn.running_var)
    torch.save(results, osp.join(out_dir, f'rank{rank}.pt'))
    dist.destroy_process_group()


@pytest.fixture(scope='module')
def two_process_results(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp('sync_bn')
    mp.start_processes(_worker, args=(str(out_dir / 'rendezvous'), str(out_dir)), nprocs=2,
                       start_method='spawn')
    return [torch.load(out_dir / f'rank{r}.pt', weights_only=True) for r in range(2)]


@pytest.mark.parametrize('case', list(CASES))
def test_two_processes_equal_batch_norm_over_the_whole_batch(case, two_process_results):
    # the reference in float64: the processes' float32 results may differ from it only by
    # the rounding of statistics summed over the 4 x 5 x 7 = 140 values of a channel
    x, grad, weight, bias = (t.double() for t in _data())
    split, _, momentum = CASES[case]
    bn = torch.nn.BatchNorm2d(CHANNELS, momentum=momentum).double()
    with torch.no_grad():
        bn.weight.copy_(weight)
        bn.bias.copy_(bias)
    full = x.clone().requires_grad_(True)
    for _ in range(2):
        out = bn(full)
        bn.weight.grad = bn.bias.grad = full.grad = None
        (out * grad).sum().backward()
    for rank, result in enumerate(two_process_results):
        got = result[case]
        per_channel = x.numel() // CHANNELS
        for key, expected in (('out', out[split[rank]]),
                              ('input_grad', full.grad[split[rank]]),
                              ('weight_grad', bn.weight.grad), ('bias_grad', bn.bias.grad),
                              ('running_mean', bn.running_mean),
                              ('running_var', bn.running_var)):
            assert_within_rounding(got[key], expected, depth=4, fan_in=per_channel)


def test_single_process_is_plain_batch_norm():
    x, _, weight, bias = _data()
    sync, plain = CPUSyncBatchNorm(CHANNELS), torch.nn.BatchNorm2d(CHANNELS)
    for bn in (sync, plain):
        bn.weight.data.copy_(weight)
        bn.bias.data.copy_(bias)
    assert torch.equal(sync(x), plain(x))
    assert torch.equal(sync.running_var, plain.running_var)
    sync.eval(), plain.eval()
    assert torch.equal(sync(x), plain(x))


def test_convert_shares_parameters_and_buffers():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, CHANNELS, 1),
                                torch.nn.SyncBatchNorm(CHANNELS))
    old = model[1]
    old.eval()
    converted = convert_cpu_sync_batchnorm(model)
    new = converted[1]
    assert converted is model and isinstance(new, CPUSyncBatchNorm)
    assert new.weight is old.weight and new.running_var is old.running_var
    assert not new.training
    assert list(dict(model.state_dict()).keys()) == ['0.weight', '0.bias', '1.weight',
                                                      '1.bias', '1.running_mean',
                                                      '1.running_var',
                                                      '1.num_batches_tracked']


def test_statistics_under_bfloat16_autocast_are_float32(monkeypatch):
    # The synchronising path in a one-process group (all-reduces over one process are
    # identities; the world size is reported as 2 so that the path is taken).
    dist.init_process_group('gloo', store=dist.HashStore(), rank=0, world_size=1)
    try:
        monkeypatch.setattr(CPUSyncBatchNorm, '_world_size', lambda self: 2)
        gen = torch.Generator().manual_seed(0)
        # what autocast hands a norm layer: a bfloat16 activation, here with mean ~3 so that
        # bfloat16 sums (8 significant bits) would visibly round
        x = (torch.randn(4, CHANNELS, 16, 16, generator=gen) * 0.5 + 3).bfloat16()
        bn = CPUSyncBatchNorm(CHANNELS, momentum=1.0)  # running stats = this batch's
        with torch.autocast('cpu', dtype=torch.bfloat16):
            out = bn(x)
    finally:
        dist.destroy_process_group()
    assert out.dtype == torch.bfloat16
    exact = x.double()
    per_channel = x.numel() // CHANNELS
    # float32 accumulation of per_channel terms (torch's SyncBN accumulates in float32 too);
    # the variance adds a subtraction and a square
    assert_within_rounding(bn.running_mean, exact.mean((0, 2, 3)), depth=1,
                           fan_in=per_channel, dtype=torch.float32)
    assert_within_rounding(bn.running_var, exact.var((0, 2, 3)), depth=3,
                           fan_in=per_channel, dtype=torch.float32)
