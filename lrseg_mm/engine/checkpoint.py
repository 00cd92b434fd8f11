"""Loading local checkpoints safely, with errors that name the file.

mmengine reads local checkpoints through the loader registered for the empty prefix of
``CheckpointLoader``; :func:`load_local_checkpoint` replaces it (see
:func:`lrseg_mm.engine.compat.register_safe_checkpoint_loader`). It always loads with
``weights_only=True`` (the allow-list of :mod:`lrseg_mm.engine.compat` admits what mmengine's
checkpoints hold) and turns torch's errors into two clear ones:

* :class:`UnsafeCheckpointError`: the file holds a pickled object that safe loading does not
  allow (unpickling it could run code). It is refused, never executed.
* :class:`CorruptCheckpointError`: the file is truncated, empty or not a checkpoint at all.
"""
import os.path as osp
import pickle
import pickletools
import zipfile

import torch


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that ``weights_only`` loading refuses."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file cannot be read: truncated, empty or not a checkpoint."""


def _refusal_detail(error: Exception) -> str:
    """The line of torch's message that says what was refused (its advice to turn safe
    loading off is left out on purpose)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    for line in lines:
        if any(key in line for key in ('GLOBAL', 'Unsupported', 'refusing', 'not an allowed')):
            return line
    return lines[-1] if lines else type(error).__name__


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint with ``weights_only=True``; raise clear errors naming it.

    Args:
        filename (str): Path of the checkpoint (``~`` is expanded).
        map_location: As for :func:`torch.load`.

    Returns:
        dict: The checkpoint.

    Raises:
        FileNotFoundError: There is no file at ``filename``.
        UnsafeCheckpointError: The file holds an object safe loading does not allow.
        CorruptCheckpointError: The file is truncated, empty or not a checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        if not _refused_by_safe_loading(filename, error):
            raise CorruptCheckpointError(_corrupt_message(filename, error)) from None
        raise UnsafeCheckpointError(
            f'refused to load checkpoint {filename}: it holds pickled data that safe '
            f'loading (weights_only=True) does not allow, and unpickling it could run '
            f'arbitrary code ({_refusal_detail(error)}). Checkpoints written by mmengine '
            f'and lrseg_mm load safely; only load other files from sources you trust.'
        ) from None
    except (RuntimeError, EOFError, KeyError, ValueError, OSError) as error:
        raise CorruptCheckpointError(_corrupt_message(filename, error)) from None


def _refused_by_safe_loading(filename: str, error: Exception) -> bool:
    """Whether ``weights_only`` refused real pickled content (rather than failing on bytes
    that are no pickle at all, which it reports as an unsupported opcode too)."""
    message = str(error)
    if 'Weights only load failed' not in message:
        return False
    if 'Unsupported operand' not in message or zipfile.is_zipfile(filename):
        return True
    try:  # parse the opcodes without running anything: garbage does not parse
        with open(filename, 'rb') as f:
            for _ in pickletools.genops(f):
                pass
    except Exception:
        return False
    return True


def _corrupt_message(filename: str, error: Exception) -> str:
    size = osp.getsize(filename)
    # torch's first sentence says what failed; the rest is generic advice
    reason = str(error).split('. ')[0].strip() or 'unexpected end of file'
    if size == 0:
        reason = 'the file is empty'
    elif isinstance(error, pickle.UnpicklingError):
        reason = 'neither a zip checkpoint nor a pickle'
    return (f'checkpoint {filename} ({size} bytes) is truncated or corrupt and cannot be '
            f'read ({type(error).__name__}: {reason}). Delete it or use an earlier '
            f'checkpoint, e.g. --resume --cfg-options load_from=<earlier iter_N.pth>.')
