import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

CHECKPOINT_KEY = 'rng_state'


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Save torch's random-number state in checkpoints and restore it on resume.

    After a resume mmengine replays the dataloader up to the checkpoint's iteration, which
    reproduces the data order and the numpy/python randomness of the data pipeline, but not
    the torch generator that dropout draws from. This hook stores the torch CPU generator
    state (and each CUDA device's, where present) in every checkpoint under ``'rng_state'``
    and sets it back right before the first resumed iteration, i.e. after the replay, so
    that the dropout masks, and therefore the weights, of a resumed run equal those of an
    uninterrupted one.

    Checkpoints are written by rank 0 only, so the state of rank 0 is stored. mmengine
    seeds every rank alike unless ``randomness.diff_rank_seed=True``, and the ranks then
    draw the same numbers, so all ranks restore that state; with ``diff_rank_seed`` only
    rank 0 restores it and the others keep their freshly seeded streams (a warning says
    so). A checkpoint without the key (written without this hook) resumes with a warning.

    Every family's config lists it in ``custom_hooks`` (``configs/_base_/lrseg_engine.py``),
    so it acts under the toolbox's ``tools/train.py`` as under ours.

    Args:
        priority (str | int): Hook priority. Default: 'NORMAL'.
    """

    def __init__(self, priority='NORMAL'):
        self.priority = priority
        self._pending = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(torch=torch.get_rng_state())
        if torch.cuda.is_available():
            state['cuda'] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
        checkpoint[CHECKPOINT_KEY] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get(CHECKPOINT_KEY)
        if state is None:
            runner.logger.warning(
                'RNGStateHook: the checkpoint holds no RNG state (it was written without '
                'this hook); dropout after the resume will differ from an uninterrupted run')
            return
        randomness = getattr(runner, '_randomness_cfg', None) or {}
        if randomness.get('diff_rank_seed', False) and get_rank() != 0:
            runner.logger.warning(
                f'RNGStateHook: diff_rank_seed=True, rank {get_rank()} keeps its own '
                'seeded stream')
            return
        self._pending = state

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        if self._pending is None:
            return
        state, self._pending = self._pending, None
        torch.set_rng_state(state['torch'])
        cuda = state.get('cuda')
        if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(cuda)
        runner.logger.info(f'RNGStateHook: restored the torch RNG state of iteration '
                           f'{runner.iter}')
