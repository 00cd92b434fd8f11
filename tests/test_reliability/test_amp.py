"""Mixed precision stays finite: --amp training for every model, SVN power iteration on
degenerate regions.

On CPU `tools/train.py --amp` uses lrseg_mm's CPUAmpOptimWrapper with bfloat16 autocast (the
CPU's native half type; float16 kernels are emulated on CPU and about 5-10x slower). float16
with dynamic loss scaling, what --amp does on GPUs, is checked in-process for a few steps.
"""
import math

import pytest
import torch
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from helpers import build_segmentor
from lrseg_mm.engine import CPUAmpOptimWrapper
from lrseg_mm.models.utils import dominant_left_singular_vectors, region_matrices
from reliability_helpers import (FAMILIES, check_ok, family_params, load, logged_iterations,
                                 output, train, train_options)
from tolerances import assert_within_rounding

AMP_ITERS = 50


@pytest.mark.parametrize('family', family_params())
def test_amp_training_50_iterations_is_finite(family, synthetic_root, tmp_path):
    options = train_options(family, synthetic_root, AMP_ITERS, ckpt_interval=AMP_ITERS,
                            crop=(64, 64))
    result = train(FAMILIES[family]['config'], tmp_path, options, '--amp')
    check_ok(result)
    logged = logged_iterations(output(result))
    assert sorted(logged) == list(range(1, AMP_ITERS + 1))
    losses = [float(loss) for _, loss in logged.values()]
    assert all(math.isfinite(x) for x in losses)
    ckpt = load(tmp_path / f'iter_{AMP_ITERS}.pth')
    assert "type='CPUAmpOptimWrapper'" in ckpt['meta']['cfg']
    assert all(torch.isfinite(v).all() for v in ckpt['state_dict'].values()
               if v.is_floating_point())


def _samples(n, size):
    samples = []
    for i in range(n):
        sample = SegDataSample(metainfo=dict(img_shape=size, pad_shape=size))
        label = torch.randint(0, 19, (1, *size), generator=torch.Generator().manual_seed(i))
        sample.gt_sem_seg = PixelData(data=label)
        samples.append(sample)
    return samples


@pytest.mark.parametrize('family', family_params())
def test_float16_loss_scaled_steps_are_finite(family):
    """Three float16 steps with dynamic loss scaling, on a normal, an all-zero and a
    constant image batch (flat regions make the SVN power iteration degenerate)."""
    torch.manual_seed(0)
    model = build_segmentor(FAMILIES[family]['config']).train()
    wrapper = CPUAmpOptimWrapper(
        dtype='float16', optimizer=torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9))
    size = (64, 64)
    for images in (torch.randn(2, 3, *size), torch.zeros(2, 3, *size),
                   torch.full((2, 3, *size), 2.5)):
        with wrapper.optim_context(model):
            losses = model.loss(images, _samples(2, size))
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(loss), losses
        wrapper.update_params(loss)
    assert wrapper.loss_scaler.is_enabled() and math.isfinite(wrapper.loss_scaler.get_scale())
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize('dtype', [None, torch.bfloat16, torch.float16],
                         ids=['float32', 'bfloat16', 'float16'])
@pytest.mark.parametrize('region', ['all-zero', 'constant', 'huge constant', 'tiny'])
def test_svn_power_iteration_finite_on_degenerate_regions(region, dtype):
    value = {'all-zero': 0., 'constant': 3., 'huge constant': 6e4, 'tiny': 1e-7}[region]
    x = torch.full((2, 16, 16, 16), value, requires_grad=True)
    with torch.autocast('cpu', dtype=dtype or torch.float16, enabled=dtype is not None):
        u = dominant_left_singular_vectors(region_matrices(x, (4, 4)), 3, 1e-6)
    assert torch.isfinite(u).all()
    norms = u.norm(dim=1)
    if region in ('constant', 'huge constant'):
        # a constant region's dominant direction is the all-ones vector / sqrt(C)
        # the iteration runs in float32 under autocast: float32 rounding of 3 steps
        assert_within_rounding(u, torch.full_like(u, 16**-0.5), depth=8, fan_in=16,
                               dtype=torch.float32)
    else:  # no direction: the eps keeps u at (nearly) zero instead of NaN
        assert norms.max() < 1e-3
    u.sum().backward()
    assert torch.isfinite(x.grad).all()
