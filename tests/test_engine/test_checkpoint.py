"""Safe checkpoint loading: refused objects and broken files give errors naming the file."""
import os

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

from lrseg_mm.engine import (CorruptCheckpointError, UnsafeCheckpointError,
                             load_local_checkpoint)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


def _good(path):
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save({'meta': {'iter': 2, 'seed': np.int64(0)}, 'state_dict': {'w': torch.ones(64)},
                'message_hub': {'log_scalars': {'loss': buffer}}}, path)
    return path


def test_mmengine_checkpoint_loads_through_the_registered_loader(tmp_path):
    assert CheckpointLoader._get_checkpoint_loader(str(tmp_path / 'x.pth')) \
        is load_local_checkpoint
    ckpt = _load_checkpoint(str(_good(tmp_path / 'good.pth')), map_location='cpu')
    assert ckpt['meta']['iter'] == 2
    assert ckpt['message_hub']['log_scalars']['loss'].current() == 1.5


def test_pickled_code_is_refused_not_run(tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _RunsCode(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match=f'refused to load checkpoint {path}.*'
                       'posix.system'):
        load_local_checkpoint(str(path))
    assert not marker.exists()


@pytest.mark.parametrize('damage, reason', [
    (lambda data: data[:len(data) // 2], 'failed finding central directory'),
    (lambda data: b'', 'the file is empty'),
    (lambda data: b'not a checkpoint at all' * 10, 'neither a zip checkpoint nor a pickle'),
    (lambda data: b'hello world' * 10, 'KeyError'),
], ids=['truncated', 'empty', 'garbage', 'other garbage'])
def test_broken_file_names_the_file(tmp_path, damage, reason):
    data = _good(tmp_path / 'good.pth').read_bytes()
    path = tmp_path / 'broken.pth'
    path.write_bytes(damage(data))
    with pytest.raises(CorruptCheckpointError,
                       match=f'checkpoint {path} .* is truncated or corrupt') as info:
        load_local_checkpoint(str(path))
    assert reason in str(info.value)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match='nothing.pth does not exist'):
        load_local_checkpoint(str(tmp_path / 'nothing.pth'))
