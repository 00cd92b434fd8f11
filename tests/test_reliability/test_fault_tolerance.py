"""Faults survived: kill -9 mid-way then --resume, and bad checkpoints refused clearly."""
import os
import os.path as osp
import signal
import sys

import pytest
import torch

from reliability_helpers import (FAMILIES, check_ok, family_params, load, logged_iterations,
                                 max_abs_diff, output, start_and_kill_at, train,
                                 train_options, write_derived_config)

# 4 iterations, checkpoints after 2 and 4; the kill lands inside iteration 3 (its data
# batch loaded, dropout not yet drawn), so the resumed run must redo iterations 3 and 4.
MAX_ITERS, KILL_AT = 4, 2
# Same process count and kernels: measured bit-identical (difference 0); allow a few float32
# ulps of the largest weight, so a CPU whose kernels round differently cannot fail it.
ULPS = 4


def tolerance(state):
    scale = max(v.abs().max().item() for v in state.values() if v.is_floating_point())
    return ULPS * torch.finfo(torch.float32).eps * scale


@pytest.mark.parametrize('family', family_params())
def test_kill_9_then_resume_equals_uninterrupted_run(family, synthetic_root, tmp_path):
    config = FAMILIES[family]['config']
    options = train_options(family, synthetic_root, MAX_ITERS, ckpt_interval=2)

    # Uninterrupted reference; --resume in an empty work dir starts fresh and says so.
    ref_dir = tmp_path / 'uninterrupted'
    ref = train(config, ref_dir, options, '--resume')
    check_ok(ref)
    assert 'no checkpoint' in output(ref) and 'starting from scratch' in output(ref)

    # The same run, SIGKILLed inside iteration 3 (after checkpoint 2, before checkpoint 4).
    run_dir = tmp_path / 'killed'
    marker = tmp_path / 'stalled'
    stalling = write_derived_config(
        tmp_path / 'stalling.py', config,
        custom_imports=dict(imports=['lrseg_mm', 'fault_hooks'], allow_failed_imports=False),
        custom_hooks=[dict(type='SafeCheckpointLoadingHook'), dict(type='RNGStateHook'),
                      dict(type='StallHook', at_iter=KILL_AT, marker=str(marker))])
    here = osp.dirname(osp.abspath(__file__))
    status = start_and_kill_at(
        [sys.executable, 'tools/train.py', stalling, '--work-dir', str(run_dir),
         '--cfg-options', *options], marker,
        env=dict(PYTHONPATH=os.pathsep.join([here, os.environ.get('PYTHONPATH', '')])))
    assert status == -signal.SIGKILL
    assert (run_dir / 'last_checkpoint').read_text().strip().endswith('iter_2.pth')
    assert not (run_dir / f'iter_{MAX_ITERS}.pth').exists()

    resumed = train(config, run_dir, options, '--resume')
    check_ok(resumed)
    out = output(resumed)
    assert 'resumed' in out.lower() and 'restored the torch RNG state' in out

    # The iteration counter, LR schedule and data order continue: iterations 3 and 4 log
    # the same learning rate and loss as the uninterrupted run's.
    ref_log, resumed_log = logged_iterations(output(ref)), logged_iterations(out)
    assert sorted(resumed_log) == [3, 4]
    assert all(resumed_log[i] == ref_log[i] for i in (3, 4)), (resumed_log, ref_log)

    ref_ckpt = load(ref_dir / f'iter_{MAX_ITERS}.pth')
    resumed_ckpt = load(run_dir / f'iter_{MAX_ITERS}.pth')
    assert resumed_ckpt['meta']['iter'] == MAX_ITERS
    weights_tolerance = tolerance(ref_ckpt['state_dict'])
    assert max_abs_diff(ref_ckpt['state_dict'], resumed_ckpt['state_dict']) <= weights_tolerance
    # the comparison means something: iterations 3 and 4 did change the weights
    mid = load(ref_dir / f'iter_{KILL_AT}.pth')['state_dict']
    assert max_abs_diff(mid, ref_ckpt['state_dict']) > 100 * weights_tolerance

    # Optimizer state (step counts, moments, momentum buffers) and scheduler state continue.
    ref_opt, resumed_opt = ref_ckpt['optimizer'], resumed_ckpt['optimizer']
    assert ref_opt['param_groups'] == resumed_opt['param_groups']
    assert ref_opt['state'].keys() == resumed_opt['state'].keys()
    for key, ref_state in ref_opt['state'].items():
        for name, value in ref_state.items():
            other = resumed_opt['state'][key][name]
            if torch.is_tensor(value):
                bound = tolerance({name: value}) if value.is_floating_point() else 0
                assert (value.double() - other.double()).abs().max() <= bound, (key, name)
            else:
                assert value == other, (key, name)
    assert ref_ckpt['param_schedulers'] == resumed_ckpt['param_schedulers']


def _work_dir_with_checkpoint(work_dir, checkpoint_bytes):
    work_dir.mkdir()
    path = work_dir / 'iter_2.pth'
    path.write_bytes(checkpoint_bytes)
    (work_dir / 'last_checkpoint').write_text(str(path))
    return path


class _RunsCode:
    """Unpickling this would run a shell command (it must never happen)."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _checkpoint_bytes(obj, tmp_path):
    path = tmp_path / 'tmp.pth'
    torch.save(obj, path)
    data = path.read_bytes()
    path.unlink()
    return data


@pytest.mark.parametrize('family', ['lrnnet'])
def test_resume_refuses_checkpoint_with_pickled_code(family, synthetic_root, tmp_path):
    executed = tmp_path / 'payload_ran'
    evil = _checkpoint_bytes(
        {'meta': {'iter': 2}, 'state_dict': {}, 'payload': _RunsCode(executed)}, tmp_path)
    path = _work_dir_with_checkpoint(tmp_path / 'work', evil)
    result = train(FAMILIES[family]['config'], tmp_path / 'work',
                   train_options(family, synthetic_root, 4), '--resume')
    out = output(result)
    assert result.returncode != 0
    assert f'refused to load checkpoint {path}' in out
    assert 'posix.system' in out  # says what was refused
    assert not executed.exists()


@pytest.mark.parametrize('family', ['lrnnet'])
def test_resume_from_truncated_checkpoint_names_the_file(family, synthetic_root, tmp_path):
    good = _checkpoint_bytes({'meta': {'iter': 2}, 'state_dict': {'w': torch.ones(4096)}},
                             tmp_path)
    path = _work_dir_with_checkpoint(tmp_path / 'work', good[:len(good) // 2])
    result = train(FAMILIES[family]['config'], tmp_path / 'work',
                   train_options(family, synthetic_root, 4), '--resume')
    out = output(result)
    assert result.returncode != 0
    assert f'checkpoint {path} ({len(good) // 2} bytes) is truncated or corrupt' in out
