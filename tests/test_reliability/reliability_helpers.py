"""Model families, tiny training options and process helpers of the reliability suite."""
import os
import os.path as osp
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import torch

from helpers import REPO, run_tool, tiny_options
from lrseg_mm.engine import load_local_checkpoint

# One representative config per model family, the smallest of each. SyncBN configs stay
# SyncBN: in one process mmengine turns SyncBN into BN, under --launcher pytorch on CPU
# lrseg_mm's CPUSyncBatchNorm synchronizes. `schedule` shortens the LR schedule to end at
# iteration {end}; `min_input_size` is the stride of the deepest feature map the model uses.
FAMILIES = {
    'lrnnet': dict(
        config='configs/lrnnet/lrnnet_1xb8-600i_synthetic-128x256.py',
        min_input_size=8,
        schedule=['param_scheduler.0.end={end}']),
    'shelfnet': dict(
        config='configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py',
        min_input_size=32,
        # the 1000-iteration exponential warm-up (x1e-3, then x1000 ** (1 / 1000) a step)
        # becomes 2 iterations (x1000 ** (1 / 2) a step), then poly decay
        schedule=['param_scheduler.1.end=3', f'param_scheduler.1.gamma={1000 ** 0.5!r}',
                  'param_scheduler.2.begin=2', 'param_scheduler.2.end={end}']),
    'lw_refinenet': dict(
        config='configs/lw_refinenet/lw-refinenet_mbv2_4xb2-80k_cityscapes-512x1024.py',
        min_input_size=32,
        schedule=['param_scheduler.0.end={end}']),
}


def family_params():
    """pytest params over FAMILIES; a family whose config is not written yet is skipped."""
    params = []
    for name, family in FAMILIES.items():
        missing = not osp.isfile(osp.join(REPO, family['config']))
        marks = [pytest.mark.skip(reason=f"{family['config']} does not exist yet")] \
            if missing else []
        params.append(pytest.param(name, id=name, marks=marks))
    return params


def train_options(family, data_root, max_iters, ckpt_interval=2, batch=2, crop=(64, 128),
                  end=None):
    """--cfg-options for a tiny, deterministic run of a family's config on synthetic data.

    Validation is switched off (``val_begin`` past the end: the Cityscapes test pipelines
    upscale every image to 1024x2048) and no pretrained weights are downloaded. ``end`` is
    where the LR schedule ends (default one past ``max_iters``, so that the last iteration
    still learns), fixed when a run is continued in several parts with growing ``max_iters``.
    """
    end = max_iters + 1 if end is None else end
    options = [o for o in tiny_options(data_root, max_iters, ckpt_interval, batch, crop,
                                    FAMILIES[family]['config'])
               if not o.startswith('param_scheduler.')]
    options += [o.format(end=end) for o in FAMILIES[family]['schedule']]
    return options + ['train_cfg.val_begin=1000000', 'model.backbone.init_cfg=None']


def train(config, work_dir, options, *extra, timeout=300, env=None):
    """Run tools/train.py in one process; return the completed process."""
    return run_tool([sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir),
                     *extra, '--cfg-options', *options], timeout=timeout, env=env)


def dist_train(config, nproc, work_dir, options, *extra, timeout=300):
    """Run tools/dist_train.sh (torchrun, gloo on CPU) with ``nproc`` processes."""
    return run_tool(['bash', 'tools/dist_train.sh', config, str(nproc), '--work-dir',
                     str(work_dir), *extra, '--cfg-options', *options], timeout=timeout,
                    env=dict(PYTHON=sys.executable, PORT=str(_free_port())))


def _free_port():
    """A TCP port nobody listens on right now (other test sessions may run torchrun too)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def output(result):
    return result.stdout + result.stderr


def check_ok(result):
    assert result.returncode == 0, output(result)[-4000:]


LOG_LINE = re.compile(r'Iter\(train\) \[\s*(\d+)/\d+\].*?\blr: (\S+).*?\bloss: (\S+)')


def logged_iterations(text):
    """{iteration: (lr, loss)} as printed by the logger (4 significant digits)."""
    return {int(m.group(1)): (m.group(2), m.group(3)) for m in LOG_LINE.finditer(text)}


def load(path):
    return load_local_checkpoint(str(path), map_location='cpu')  # mmengine's types allowed


def max_abs_diff(state_a, state_b):
    """Largest absolute difference over the float tensors of two state dicts."""
    assert state_a.keys() == state_b.keys()
    return max((a.double() - b.double()).abs().max().item()
               for a, b in zip(state_a.values(), state_b.values()) if a.is_floating_point())


def relative_distance(state, reference, start):
    """||state - reference|| / ||reference - start|| over the learned float tensors: how far
    two runs ended apart, relative to how far the reference run moved from the state both
    started at."""
    keys = [k for k, v in reference.items() if v.is_floating_point() and 'running_' not in k]

    def norm(a, b):
        return sum(((a[k].double() - b[k].double())**2).sum() for k in keys).sqrt().item()

    return norm(state, reference) / norm(reference, start)


def start_and_kill_at(args, marker, timeout=240, env=None):
    """Start ``args``, wait until it writes ``marker``, SIGKILL it; return its exit status.

    The marker is written by tests/test_reliability/fault_hooks.py's StallHook, which then
    keeps the process inside an iteration until the kill arrives.
    """
    full_env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore')
    full_env.update(env or {})
    log = open(str(marker) + '.log', 'w')
    proc = subprocess.Popen(args, cwd=REPO, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    try:
        while not osp.exists(marker):
            if proc.poll() is not None:
                raise AssertionError(f'training ended (rc {proc.returncode}) before the kill '
                                     f'point:\n{open(log.name).read()[-4000:]}')
            if time.monotonic() > deadline:
                raise AssertionError(f'no kill point within {timeout} s')
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        return proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()


def write_derived_config(path, base, **fields):
    """A config file that inherits ``base`` (repo-relative) and sets ``fields``."""
    lines = [f'_base_ = {osp.join(REPO, base)!r}']
    lines += [f'{key} = {value!r}' for key, value in fields.items()]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return str(path)
