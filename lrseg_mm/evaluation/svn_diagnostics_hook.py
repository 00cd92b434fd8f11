"""How peaked the SVN block's attention is over a test run."""
import math
from typing import Optional

import torch
from mmengine.dist import all_reduce
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS


@HOOKS.register_module()
class SVNDiagnosticsHook(Hook):
    """Summarise the attention of LRNNet's SVN block (``model.decode_head.svn``) over the
    test set and add it to the test metrics as ``svn``.

    Every pixel attends over the block's S singular vectors with a softmax; over all test
    pixels the hook averages the attention's entropy and its largest weight. Uniform
    attention has entropy log S and largest weight 1/S; a block whose attention stays near
    those values mixes the same context into every pixel. The result, in the metrics the
    test loop returns and the Runner's logger dumps::

        svn=dict(entropy, max_entropy=log S, max_weight, uniform_weight=1/S)

    A model without an SVN block, or whose head bypasses it (``bypass_svn=True``), adds
    nothing. Select it with ``default_hooks.svn_diagnostics.type=SVNDiagnosticsHook``
    (``--cfg-options``) or in ``custom_hooks``. Its priority runs it before the hooks
    that log the metrics.
    """
    priority = 'HIGHEST'

    def __init__(self):
        self._handle = None
        self._sums = None
        self._block = None

    @staticmethod
    def svn_block(model) -> Optional[torch.nn.Module]:
        """The SVN block a model runs (None if it has none or bypasses it)."""
        model = model.module if is_model_wrapper(model) else model
        head = getattr(model, 'decode_head', None)
        if head is None or getattr(head, 'bypass_svn', False):
            return None
        return getattr(head, 'svn', None)

    def before_test_epoch(self, runner) -> None:
        self._block = self.svn_block(runner.model)
        self._sums = torch.zeros(3, dtype=torch.float64)  # entropy, max weight, pixels
        if self._block is not None:
            self._handle = self._block.register_forward_hook(self._record)

    def _record(self, block, inputs, output) -> None:
        with torch.no_grad():
            _, attention = block.attention(inputs[0])  # (N, S, HW), softmax over S
            attention = attention.double()
            entropy = -(attention * attention.clamp_min(1e-12).log()).sum(dim=1)
            self._sums += torch.stack([entropy.sum(), attention.amax(dim=1).sum(),
                                       torch.tensor(entropy.numel(), dtype=torch.float64)
                                       ]).cpu()

    def after_test_epoch(self, runner, metrics: Optional[dict] = None) -> None:
        if self._handle is None:
            return
        self._handle.remove()
        self._handle = None
        all_reduce(self._sums)  # a no-op unless distributed
        entropy, max_weight, pixels = self._sums.tolist()
        if metrics is None or not pixels:
            return
        s = self._block.num_vectors
        metrics['svn'] = dict(entropy=round(entropy / pixels, 4),
                              max_entropy=round(math.log(s), 4),
                              max_weight=round(max_weight / pixels, 4),
                              uniform_weight=round(1 / s, 4))
