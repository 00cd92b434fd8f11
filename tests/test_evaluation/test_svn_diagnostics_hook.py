"""lrseg_mm.evaluation.SVNDiagnosticsHook: the attention summary of a test run."""
import math
from types import SimpleNamespace

import pytest
import torch
from mmseg.registry import HOOKS

from lrseg_mm.models.utils import SVNBlock


def _runner(svn, bypass=False):
    head = SimpleNamespace(svn=svn, bypass_svn=bypass)
    return SimpleNamespace(model=SimpleNamespace(decode_head=head))


def _test_epoch(hook, runner, inputs):
    hook.before_test_epoch(runner)
    with torch.no_grad():
        for x in inputs:
            runner.model.decode_head.svn(x)
    metrics = {}
    hook.after_test_epoch(runner, metrics)
    return metrics


def test_uniform_attention_has_entropy_log_s_and_weights_one_over_s():
    block = SVNBlock(8, 4, grid_sizes=(2, 1), zero_init=True).eval()
    assert block.num_vectors == 5
    metrics = _test_epoch(HOOKS.build(dict(type='SVNDiagnosticsHook')), _runner(block),
                          [torch.zeros(2, 8, 6, 6)])
    svn = metrics['svn']
    # zero input: zero queries, all logits 0, so every pixel attends uniformly
    assert svn == dict(entropy=round(math.log(5), 4), max_entropy=round(math.log(5), 4),
                       max_weight=0.2, uniform_weight=0.2)


def test_peaked_attention_lowers_the_entropy_and_the_hook_comes_off():
    torch.manual_seed(0)
    block = SVNBlock(8, 4, grid_sizes=(2, ), use_scale=False).eval()
    hook = HOOKS.build(dict(type='SVNDiagnosticsHook'))
    x = 10 * torch.randn(1, 8, 8, 8)
    svn = _test_epoch(hook, _runner(block), [x, x])['svn']
    _, attention = block.attention(x)
    entropy = -(attention * attention.log()).sum(dim=1).mean().item()
    assert svn['entropy'] == pytest.approx(entropy, abs=1e-4)
    assert svn['entropy'] < svn['max_entropy'] - 0.1
    assert svn['max_weight'] == pytest.approx(attention.amax(dim=1).mean().item(), abs=1e-4)
    assert not block._forward_hooks  # removed after the epoch


@pytest.mark.parametrize('svn, bypass', [(None, False), ('block', True)])
def test_a_model_without_a_running_svn_block_adds_nothing(svn, bypass):
    block = SVNBlock(8, 4) if svn else None
    hook = HOOKS.build(dict(type='SVNDiagnosticsHook'))
    runner = _runner(block, bypass)
    hook.before_test_epoch(runner)
    metrics = {}
    hook.after_test_epoch(runner, metrics)
    assert metrics == {}
