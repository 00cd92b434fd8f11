"""Multi-process equals single-process, checkpoints move between process counts, SyncBN runs.

One chain of runs of Light-Weight RefineNet (MobileNet-v2), a model without BN-statistics
coupling (its encoder's BN statistics are frozen, its decoder has no norm layers), in its
Cityscapes config with its own optimizer and schedule:

    reference   1 process,  batch 2, iterations 1-6 (checkpoints 2, 4, 6)
    A           2 processes, batch 1 each, iterations 1-2, from the same start
    B           1 process,  batch 2, iterations 3-4, resumed from A's checkpoint
    C           2 processes, batch 1 each, iterations 5-6, resumed from B's checkpoint

DDP averages the two processes' gradients, which equals the gradient of the batch of 2, so
every checkpoint of the chain must equal the reference's up to float rounding. The data
pipeline of the chain has no random augmentation (each process draws its own random numbers).

SyncBN configs: ShelfNet18-lw's config runs unchanged with one image per process. Its attention
refinement modules normalise globally pooled 1x1 maps, which plain BN refuses for one image
("Expected more than 1 value per channel"), so the run only works because lrseg_mm's
CPUSyncBatchNorm takes the statistics over both processes; that the statistics equal BN over
the whole batch, forward and backward, is tested in tests/test_engine/test_sync_bn.py.
(A ShelfNet chain like the one above is no good equality test: BN over 2 pooled values is +-1
whatever the input, and training from there amplifies a 1e-6 perturbation into a 35%
difference within 2 iterations, in one process as well.)
"""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

from helpers import REPO
from reliability_helpers import (FAMILIES, check_ok, dist_train, load, logged_iterations,
                                 max_abs_diff, output, relative_distance, train,
                                 train_options, write_derived_config)

FAMILY, SYNCBN_FAMILY = 'lw_refinenet', 'shelfnet'
END = 6
# The two sides add the same numbers in a different order (DDP's gradient average).
# Measured: the runs end 2e-6 (iteration 2) to 6e-6 (iteration 6) of the distance training
# moved the weights apart, at most 4e-8 per weight, while training moved weights by 8e-3
# (a per-weight ratio of 5e-6). Both bounds are relative to how far training moved them.
TOLERANCE, PER_WEIGHT = 1e-4, 1e-4


def _needs(family):
    config = FAMILIES[family]['config']
    return pytest.mark.skipif(not osp.isfile(osp.join(REPO, config)),
                              reason=f'{config} does not exist yet')


def _options(data_root, max_iters, batch, start=None):
    options = [o for o in train_options(FAMILY, data_root, max_iters, 2, batch, end=END)
               if '.pipeline.' not in o]
    return options + ([f'load_from={start}'] if start else [])


@pytest.fixture(scope='module')
def chain(tmp_path_factory, synthetic_root):
    root = tmp_path_factory.mktemp('multiprocess')
    config = write_derived_config(
        root / 'deterministic_data.py', FAMILIES[FAMILY]['config'],
        train_dataloader=dict(dataset=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='StrictLoadAnnotations', num_classes=19),
            dict(type='PackSegInputs')])))
    # one initial state for both fresh runs, to measure how far training moved
    torch.manual_seed(0)
    cfg = Config.fromfile(config)
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    model.init_weights()
    start = root / 'start.pth'
    torch.save({'state_dict': model.state_dict()}, start)
    return dict(config=config, root=root, data=synthetic_root, work=root / 'chain', runs={},
                start=start)


def _run(chain, name):
    """Run the chain up to ``name`` (once) and return that run's completed process."""
    order = ['reference', 'A', 'B', 'C']
    for step in order[:order.index(name) + 1]:
        if step in chain['runs']:
            continue
        config, data, work, start = chain['config'], chain['data'], chain['work'], \
            chain['start']
        if step == 'reference':
            result = train(config, chain['root'] / 'reference', _options(data, 6, 2, start))
        elif step == 'A':
            result = dist_train(config, 2, work, _options(data, 2, 1, start))
        elif step == 'B':
            result = train(config, work, _options(data, 4, 2), '--resume')
        else:
            result = dist_train(config, 2, work, _options(data, 6, 1), '--resume')
        check_ok(result)
        chain['runs'][step] = result
    return chain['runs'][name]


def _compare_with_reference(chain, iteration):
    ref = load(chain['root'] / 'reference' / f'iter_{iteration}.pth')
    got = load(chain['work'] / f'iter_{iteration}.pth')
    start = load(chain['start'])['state_dict']
    assert got['meta']['iter'] == iteration
    distance = relative_distance(got['state_dict'], ref['state_dict'], start)
    assert distance <= TOLERANCE, (iteration, distance)
    moved = max_abs_diff(ref['state_dict'], start)
    assert max_abs_diff(got['state_dict'], ref['state_dict']) <= PER_WEIGHT * moved
    # the encoder's BN statistics stay frozen in both
    stats = [k for k in start if 'running_' in k]
    assert stats and all(torch.equal(got['state_dict'][k], start[k]) for k in stats)
    return ref, got


@_needs(SYNCBN_FAMILY)
def test_syncbn_config_runs_unchanged_with_one_image_per_process(synthetic_root, tmp_path):
    config = FAMILIES[SYNCBN_FAMILY]['config']
    result = dist_train(config, 2, tmp_path,
                        train_options(SYNCBN_FAMILY, synthetic_root, 2, batch=1))
    check_ok(result)
    assert 'Distributed training: True' in output(result)
    assert sorted(logged_iterations(output(result))) == [1, 2]
    dumped = (tmp_path / osp.basename(config)).read_text()
    assert "type='SyncBN'" in dumped
    state = load(tmp_path / 'iter_2.pth')['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


@_needs(FAMILY)
def test_two_processes_batch_1_equal_one_process_batch_2(chain):
    one = output(_run(chain, 'reference'))
    two = output(_run(chain, 'A'))
    assert 'Distributed training: True' in two and 'Distributed training: False' in one
    _compare_with_reference(chain, 2)


@_needs(FAMILY)
def test_checkpoint_of_two_processes_resumes_in_one(chain):
    result = _run(chain, 'B')
    assert sorted(logged_iterations(output(result))) == [3, 4]
    _compare_with_reference(chain, 4)


@_needs(FAMILY)
def test_checkpoint_of_one_process_resumes_in_two(chain):
    result = _run(chain, 'C')
    assert sorted(logged_iterations(output(result))) == [5, 6]
    ref, got = _compare_with_reference(chain, 6)
    assert ref['param_schedulers'] == got['param_schedulers']
