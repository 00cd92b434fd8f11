"""ShelfNet-lw's learning-rate schedule from mmengine's schedulers equals the official
formula (BiSeNet's optimizer.py, used by ShelfNet18_realtime/train.py)."""
import pytest
import torch
from mmengine.config import Config
from mmengine.optim.scheduler import LinearLR
from mmseg.registry import PARAM_SCHEDULERS

from helpers import REPO
from tolerances import assert_within_rounding

LR0, START, WARMUP, MAX_ITER, POWER = 1e-2, 1e-5, 1000, 80000, 0.9


def official_lr(it: int) -> float:
    """The official lr at 0-based iteration ``it`` (set before that iteration's step)."""
    if it <= WARMUP:
        return START * ((LR0 / START)**(1. / WARMUP))**it
    return LR0 * (1 - (it - WARMUP) / (MAX_ITER - WARMUP))**POWER


def test_official_formula_by_hand():
    assert official_lr(0) == START
    assert official_lr(1000) == pytest.approx(LR0, rel=1e-12)
    assert official_lr(500) == pytest.approx(10**-3.5, rel=1e-12)  # halfway, in log space
    assert official_lr(1001) == pytest.approx(LR0 * (78999 / 79000)**0.9, rel=1e-15)


@pytest.mark.parametrize('config', [
    'configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py',
    'configs/shelfnet/shelfnet34-lw_2xb7-80k_cityscapes-1024x1024.py'])
def test_config_schedulers_follow_the_official_lr(config):
    cfg = Config.fromfile(f'{REPO}/{config}')
    assert cfg.train_cfg.max_iters == MAX_ITER
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    head = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    optimizer = torch.optim.SGD([{'params': [param]}, {'params': [head], 'lr': 10 * LR0}],
                                lr=LR0)
    schedulers = [PARAM_SCHEDULERS.build(dict(s, optimizer=optimizer))
                  for s in cfg.param_scheduler]
    checked = {0, 1, 500, 999, 1000, 1001, 2000, 40000, MAX_ITER - 1}
    actual, reference = [], []
    steps = 0
    for it in range(MAX_ITER):  # the runner steps after every iteration
        if it in checked:
            lrs = [g['lr'] for g in optimizer.param_groups]
            actual += [lrs[0], lrs[1] / 10]  # the head keeps its x10 all along
            reference += [official_lr(it)] * 2
            # chained float64 products: per step one pow and two products (<= 3 roundings
            # of at most eps each, relative), plus the same again in the reference's power
            steps = it
        optimizer.step()
        for scheduler in schedulers:
            scheduler.step()
        if it >= max(checked):
            break
    actual, reference = torch.tensor(actual), torch.tensor(reference)
    rel = (actual / reference)
    assert_within_rounding(rel, torch.ones_like(rel), depth=3 * (steps + 1),
                           dtype=torch.float64)
    assert actual[0] == START  # iteration 0: exactly 1e-2 * 1e-3


def test_linear_lr_with_equal_factors_only_scales():
    """LinearLR(start=end=f) over [0, 1) multiplies once at iteration 0, never again."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.)
    scheduler = LinearLR(optimizer, start_factor=1e-3, end_factor=1e-3, begin=0, end=1,
                         by_epoch=False)
    lrs = []
    for _ in range(3):
        lrs.append(optimizer.param_groups[0]['lr'])
        optimizer.step()
        scheduler.step()
    assert lrs == [1e-3] * 3
