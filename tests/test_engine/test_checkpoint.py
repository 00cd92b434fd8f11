"""Safe checkpoint loading: mmengine's types allowed inside a block only, numpy 1.x and 2.x
pickles, torch's override honoured, and refused or broken files named in the error."""
import fractions
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer

from lrseg_mm.engine import (CorruptCheckpointError, SafeCheckpointLoadingHook,
                             UnsafeCheckpointError, load_local_checkpoint,
                             safe_checkpoint_loading)


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f'touch {self.marker}', ))


class _GetattrEscape:
    """Pickles as getattr(HistoryBuffer, '__init__'): a walk from an allowed class."""

    def __reduce__(self):
        return (getattr, (HistoryBuffer, '__init__'))


def _good(path):
    """A checkpoint with what mmengine writes besides tensors: numpy scalars and arrays, a
    HistoryBuffer (which pickles getattr(HistoryBuffer, <statistic>))."""
    buffer = HistoryBuffer()
    buffer.update(1.5)
    torch.save({'meta': {'iter': 2, 'seed': np.int64(0), 'arr': np.arange(3.)},
                'state_dict': {'w': torch.ones(64)},
                'message_hub': {'log_scalars': {'loss': buffer}}}, path)
    return path


def _check_good(ckpt):
    assert ckpt['meta']['iter'] == 2 and ckpt['meta']['seed'] == 0
    assert np.array_equal(ckpt['meta']['arr'], np.arange(3.))
    assert ckpt['message_hub']['log_scalars']['loss'].current() == 1.5


def test_mmengine_checkpoint_loads_inside_the_block_only(tmp_path):
    path = _good(tmp_path / 'good.pth')
    _check_good(load_local_checkpoint(str(path)))
    with safe_checkpoint_loading():
        _check_good(torch.load(path))
    # nothing stays allowed after the block: the plugin adds nothing process-wide
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def test_blocks_nest_and_keep_callers_globals(tmp_path):
    path = _good(tmp_path / 'good.pth')
    hook = SafeCheckpointLoadingHook()
    hook.before_run(runner=None)
    with safe_checkpoint_loading():
        pass
    _check_good(torch.load(path))  # the inner block did not remove the hook's globals
    hook.after_run(runner=None)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)


def _as_numpy_1(path):
    """Rewrite a checkpoint written under numpy 2 as numpy 1.x writes it: its pickle names
    numpy.core.multiarray instead of numpy._core.multiarray (torch pickles with protocol
    2, whose GLOBAL opcode spells names out as text lines)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info, archive.read(info)) for info in archive.infolist()]
    old_path = str(path) + '.numpy2'
    os.rename(path, old_path)
    found = False
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_STORED) as archive:
        for info, data in members:
            if info.filename.endswith('data.pkl'):
                found = b'cnumpy._core.multiarray\n' in data
                data = data.replace(b'cnumpy._core.multiarray\n', b'cnumpy.core.multiarray\n')
            archive.writestr(info, data)
    return found


def test_numpy_1_checkpoint_loads(tmp_path):
    path = _good(tmp_path / 'numpy1.pth')
    if not _as_numpy_1(path):
        pytest.skip('this numpy pickles arrays under numpy.core already (numpy 1.x)')
    with zipfile.ZipFile(path) as archive:
        pkl = next(archive.read(n) for n in archive.namelist() if n.endswith('data.pkl'))
    assert b'numpy.core.multiarray\n_reconstruct' in pkl
    _check_good(load_local_checkpoint(str(path)))


def test_pickled_code_is_refused_not_run(tmp_path):
    marker = tmp_path / 'ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _RunsCode(marker)}, path)
    with pytest.raises(UnsafeCheckpointError, match=f'refused to load checkpoint {path}.*'
                       r'not allowed: posix\.system'):
        load_local_checkpoint(str(path))
    assert not marker.exists()


def test_getattr_in_checkpoint_is_restricted(tmp_path):
    path = tmp_path / 'escape.pth'
    torch.save({'x': _GetattrEscape()}, path)
    with pytest.raises(UnsafeCheckpointError, match='refusing getattr'):
        load_local_checkpoint(str(path))


def test_torch_override_turns_safe_loading_off(tmp_path, monkeypatch):
    # TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1 is torch's documented switch for trusted files;
    # it only works when the caller does not pass weights_only itself
    path = tmp_path / 'trusted.pth'
    torch.save({'ratio': fractions.Fraction(1, 3)}, path)
    with pytest.raises(UnsafeCheckpointError, match='fractions.Fraction'):
        load_local_checkpoint(str(path))
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.warns(UserWarning, match='TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'):
        assert load_local_checkpoint(str(path))['ratio'] == fractions.Fraction(1, 3)


@pytest.mark.skipif(torch.cuda.is_available(), reason='needs a machine without CUDA')
def test_errors_not_about_the_file_come_through(tmp_path):
    path = _good(tmp_path / 'good.pth')
    with pytest.raises(RuntimeError, match='CUDA') as info:
        load_local_checkpoint(str(path), map_location='cuda')
    assert not isinstance(info.value, CorruptCheckpointError)


@pytest.mark.parametrize('damage, reason', [
    (lambda data: data[:len(data) // 2], 'without its central directory'),
    (lambda data: b'', 'the file is empty'),
    (lambda data: b'not a checkpoint at all' * 10, 'neither a zip checkpoint nor a pickle'),
    (lambda data: b'hello world' * 10, 'neither a zip checkpoint nor a pickle'),
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
