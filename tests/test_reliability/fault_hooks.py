"""Fault injection for the reliability suite, imported by training subprocesses through
``custom_imports`` (the suite puts this folder on their PYTHONPATH)."""
import time

from mmengine.hooks import Hook
from mmseg.registry import HOOKS


@HOOKS.register_module()
class StallHook(Hook):
    """Stop inside iteration ``at_iter`` (0-based; its data batch is already loaded): write
    ``marker`` and sleep, so that a test can SIGKILL the process at a known point between
    two checkpoints."""

    priority = 'LOWEST'

    def __init__(self, at_iter: int, marker: str, seconds: float = 600.):
        self.at_iter = at_iter
        self.marker = marker
        self.seconds = seconds

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter == self.at_iter:
            with open(self.marker, 'w') as f:
                f.write(str(runner.iter))
            time.sleep(self.seconds)
