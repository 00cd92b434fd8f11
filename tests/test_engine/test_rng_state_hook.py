"""RNGStateHook: torch's RNG state goes into checkpoints and comes back after a resume."""
import io
from types import SimpleNamespace
from unittest import mock

import torch

from lrseg_mm.engine import RNGStateHook
from lrseg_mm.engine.rng_state_hook import CHECKPOINT_KEY


def _runner(iteration=4, **randomness):
    return SimpleNamespace(logger=mock.Mock(), iter=iteration, _randomness_cfg=randomness)


def _round_trip(checkpoint):
    """Through torch.save and a weights_only load, as mmengine's resume reads it."""
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_restores_the_state_of_the_checkpoint_before_the_first_resumed_iteration():
    hook = RNGStateHook()
    torch.manual_seed(123)
    torch.rand(7)  # some draws before the checkpoint
    checkpoint = {}
    hook.before_save_checkpoint(_runner(), checkpoint)
    expected = torch.rand(5)  # what the uninterrupted run draws next

    torch.manual_seed(999)  # a new process seeds afresh ...
    resumed = RNGStateHook()
    resumed.after_load_checkpoint(_runner(), _round_trip(checkpoint))
    torch.rand(3)  # ... and the dataloader replay may draw before the first iteration
    resumed.before_train_iter(_runner(), batch_idx=4)
    assert torch.equal(torch.rand(5), expected)


def test_restores_only_once():
    hook = RNGStateHook()
    checkpoint = {}
    hook.before_save_checkpoint(_runner(), checkpoint)
    hook.after_load_checkpoint(_runner(), checkpoint)
    hook.before_train_iter(_runner(), batch_idx=4)
    after_first = torch.rand(3)
    hook.before_train_iter(_runner(), batch_idx=5)  # must not rewind again
    assert not torch.equal(torch.rand(3), after_first)


def test_checkpoint_without_state_resumes_with_a_warning():
    hook, runner = RNGStateHook(), _runner()
    hook.after_load_checkpoint(runner, {'meta': {}})
    state = torch.get_rng_state()
    hook.before_train_iter(runner, batch_idx=0)
    assert torch.equal(torch.get_rng_state(), state)
    assert 'no RNG state' in runner.logger.warning.call_args[0][0]


def test_stored_under_its_key_as_a_plain_tensor():
    checkpoint = {}
    RNGStateHook().before_save_checkpoint(_runner(), checkpoint)
    state = checkpoint[CHECKPOINT_KEY]['torch']
    assert state.dtype == torch.uint8 and torch.equal(state, torch.get_rng_state())


def test_diff_rank_seed_keeps_other_ranks_streams():
    hook, runner = RNGStateHook(), _runner(diff_rank_seed=True)
    checkpoint = {}
    hook.before_save_checkpoint(runner, checkpoint)
    with mock.patch('lrseg_mm.engine.rng_state_hook.get_rank', return_value=1):
        hook.after_load_checkpoint(runner, checkpoint)
    assert hook._pending is None
    assert 'diff_rank_seed' in runner.logger.warning.call_args[0][0]
