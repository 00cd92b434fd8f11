"""Multi-process equals single-process, and checkpoints move between process counts.

One chain of runs of LRNNet's Cityscapes config, which uses SyncBN, unchanged in its model:

    reference   1 process,  batch 2, iterations 1-6 (checkpoints 2, 4, 6)
    A           2 processes, batch 1 each, iterations 1-2, fresh
    B           1 process,  batch 2, iterations 3-4, resumed from A's checkpoint
    C           2 processes, batch 1 each, iterations 5-6, resumed from B's checkpoint

In one process mmengine turns SyncBN into BN over the batch of 2; in two, lrseg_mm's
CPUSyncBatchNorm takes statistics over both processes' samples, and DDP averages gradients,
so every checkpoint of the chain must equal the reference's. Only what would make the two
runs legitimately differ is changed (in a derived config): the data pipeline has no random
augmentation and dropout is off (each process draws its own random numbers), and SGD replaces
Adam, whose first steps turn float-rounding differences of near-zero gradients into +-lr
updates.
"""
import pytest

from reliability_helpers import (check_ok, dist_train, load, logged_iterations, max_abs_diff,
                                 mismatched_tensors, output, train, train_options,
                                 write_derived_config)

SYNCBN_CONFIG = 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'
END = 6
# Summation order differs between 1 and 2 processes (BN statistics, gradient averaging):
# measured, weights agree to 4e-6 and BN running variances to a relative 7e-6 after 2
# iterations, while 2 iterations move weights by more than 1e-2.
RTOL, ATOL = 1e-4, 2e-5


def _options(data_root, max_iters, batch):
    return [o for o in train_options('lrnnet', data_root, max_iters, 2, batch, end=END)
            if '.pipeline.' not in o]


@pytest.fixture(scope='module')
def chain(tmp_path_factory, synthetic_root):
    root = tmp_path_factory.mktemp('multiprocess')
    config = write_derived_config(
        root / 'syncbn_deterministic.py', SYNCBN_CONFIG,
        train_dataloader=dict(dataset=dict(pipeline=[
            dict(type='LoadImageFromFile'),
            dict(type='StrictLoadAnnotations', num_classes=19),
            dict(type='PackSegInputs')])),
        model=dict(backbone=dict(drop_rates=(0., 0., 0.)), decode_head=dict(dropout_ratio=0.)),
        optim_wrapper=dict(optimizer=dict(_delete_=True, type='SGD', lr=0.01, momentum=0.9,
                                          weight_decay=1e-4)))
    return dict(config=config, root=root, data=synthetic_root, work=root / 'chain', runs={})


def _run(chain, name):
    """Run the chain up to ``name`` (once) and return that run's completed process."""
    order = ['reference', 'A', 'B', 'C']
    for step in order[:order.index(name) + 1]:
        if step in chain['runs']:
            continue
        config, data, work = chain['config'], chain['data'], chain['work']
        if step == 'reference':
            result = train(config, chain['root'] / 'reference', _options(data, 6, 2))
        elif step == 'A':
            result = dist_train(config, 2, work, _options(data, 2, 1))
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
    assert got['meta']['iter'] == iteration
    before = load(chain['root'] / 'reference' / f'iter_{iteration - 2}.pth')['state_dict'] \
        if iteration > 2 else None
    if before is not None:  # the two iterations moved the weights far beyond the tolerance
        assert max_abs_diff(before, ref['state_dict']) > 100 * ATOL
    assert not mismatched_tensors(ref['state_dict'], got['state_dict'], RTOL, ATOL)
    return ref, got


def test_syncbn_config_runs_unchanged_in_one_and_two_processes(chain):
    one = output(_run(chain, 'reference'))
    two = output(_run(chain, 'A'))
    assert 'Distributed training: True' in two and 'Distributed training: False' in one
    assert "type='SyncBN'" in (chain['work'] / 'syncbn_deterministic.py').read_text()


def test_two_processes_batch_1_equal_one_process_batch_2(chain):
    _run(chain, 'A')
    _compare_with_reference(chain, 2)


def test_checkpoint_of_two_processes_resumes_in_one(chain):
    result = _run(chain, 'B')
    assert sorted(logged_iterations(output(result))) == [3, 4]
    _compare_with_reference(chain, 4)


def test_checkpoint_of_one_process_resumes_in_two(chain):
    result = _run(chain, 'C')
    assert sorted(logged_iterations(output(result))) == [5, 6]
    ref, got = _compare_with_reference(chain, 6)
    assert ref['param_schedulers'] == got['param_schedulers']
