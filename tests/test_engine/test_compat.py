"""The plugin's fixes for the toolbox on torch >= 2.6 and on CPU-only machines."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer


class _Payload:
    """An arbitrary object: unpickling it must not run code."""

    def __reduce__(self):
        return (os.system, ('echo pwned',))


def test_mmengine_types_load_with_weights_only(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(0.5)
    ckpt = dict(meta=dict(iter=3, seed=np.int64(7), arr=np.arange(3.)),
                message_hub=dict(log_scalars={'loss': buffer}),
                state_dict={'w': torch.ones(2)})
    path = tmp_path / 'ckpt.pth'
    torch.save(ckpt, path)
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['iter'] == 3
    assert loaded['message_hub']['log_scalars']['loss'].current() == 0.5
    assert np.array_equal(loaded['meta']['arr'], np.arange(3.))


def test_arbitrary_pickled_object_is_refused(tmp_path):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        torch.load(path, weights_only=True)


def test_cpu_ddp_wrapper_drops_device_ids():
    import torch.distributed as dist
    from mmengine.model import MMDistributedDataParallel
    if torch.cuda.is_available():
        pytest.skip('checks the CPU-only path')
    store = dist.HashStore()
    dist.init_process_group('gloo', store=store, rank=0, world_size=1)
    try:
        model = MMDistributedDataParallel(module=torch.nn.Linear(2, 2), device_ids=[0])
        assert model.device_ids is None
    finally:
        dist.destroy_process_group()


def test_getattr_in_checkpoint_is_restricted(tmp_path):
    class _GetattrEscape:
        def __reduce__(self):
            return (getattr, (HistoryBuffer, '__init__'))

    path = tmp_path / 'escape.pth'
    torch.save({'x': _GetattrEscape()}, path)
    with pytest.raises(pickle.UnpicklingError, match='refusing getattr'):
        torch.load(path, weights_only=True)
