"""Safe checkpoint loading: what mmengine's checkpoints hold is allowed, errors name the file.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``, and mmengine 0.10.7's
checkpoints hold numpy arrays and scalars and the message hub's ``HistoryBuffer``, which
safe loading refuses. :func:`safe_checkpoint_loading` allow-lists exactly those types
(numpy 1.x and 2.x spellings) for the duration of a ``with`` block, with torch's own
``torch.serialization.safe_globals``; nothing is added process-wide and anything else in a
checkpoint is still refused. torch's default is left alone, so its documented
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` override keeps working.

:func:`checkpoint_errors_named` turns torch's errors about a file into two clear ones:

* :class:`UnsafeCheckpointError`: the file is intact but holds a pickled object that safe
  loading does not allow (unpickling it could run code). It is refused, never executed.
* :class:`CorruptCheckpointError`: the file is truncated, empty or not a checkpoint at all.

Any other error (e.g. ``map_location='cuda'`` on a machine without CUDA) comes through as
torch raised it. Which case applies is decided from the file itself (zip integrity, a
static pickle parse, ``torch.serialization.get_unsafe_globals_in_checkpoint``), never from
torch's message text.

These are selected by configs, not applied on import: :class:`~lrseg_mm.engine.LrsegRunner`
(``runner_type``) loads every checkpoint this way, :class:`SafeCheckpointLoadingHook`
(``custom_hooks``) does the allow-listing under the toolbox's plain ``Runner``, and
:func:`load_local_checkpoint` and :func:`lrseg_mm.apis.load_segmentor` use it directly.
"""
import os.path as osp
import pickle
import pickletools
import zipfile
from contextlib import contextmanager
from typing import Iterator, List, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that ``weights_only`` loading refuses."""


class CorruptCheckpointError(RuntimeError):
    """A checkpoint file cannot be read: truncated, empty or not a checkpoint."""


def _history_buffer_getattr(obj, name):
    """``getattr`` restricted to what a pickled ``HistoryBuffer`` needs.

    A ``HistoryBuffer`` pickles its statistics methods as ``getattr(HistoryBuffer, 'mean')``.
    Allow-listing the real ``getattr`` would let a crafted checkpoint walk from any allowed
    object to ``os.system``; this stand-in answers only those lookups.
    """
    from mmengine.logging import HistoryBuffer
    allowed = {'min', 'max', 'current', 'mean'} | set(HistoryBuffer._statistics_methods)
    if obj is HistoryBuffer and name in allowed:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) in a checkpoint: only HistoryBuffer '
        'statistics methods may be looked up')


def _numpy_multiarray():
    """numpy's ``multiarray`` module without touching the ``numpy.core`` alias, which
    numpy 2 deprecates (numpy 1.26 has ``numpy._core`` too, for numpy 2 pickles)."""
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 1.26
        from numpy.core import multiarray
    return multiarray


def safe_checkpoint_globals() -> list:
    """Globals an mmengine checkpoint may hold beyond tensors and builtins.

    numpy pickles arrays and scalars as ``<module>.multiarray._reconstruct`` / ``scalar``
    with ``<module>`` ``numpy.core`` under numpy 1.x and ``numpy._core`` under numpy 2, so
    both names are allowed, whichever numpy reads them.
    """
    from mmengine.logging import HistoryBuffer
    multiarray = _numpy_multiarray()
    types = [HistoryBuffer, np.ndarray, np.dtype, (_history_buffer_getattr, 'builtins.getattr')]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        types += [(multiarray._reconstruct, f'{module}._reconstruct'),
                  (multiarray.scalar, f'{module}.scalar')]
    # numpy >= 1.25 pickles dtypes as instances of their own classes (numpy.dtypes.Float64DType).
    types += [type(np.dtype(t)) for t in (np.float64, np.float32, np.float16, np.int64,
                                          np.int32, np.int8, np.uint8, np.bool_)]
    return types


@contextmanager
def safe_checkpoint_loading() -> Iterator[None]:
    """Allow :func:`safe_checkpoint_globals` for ``weights_only`` loads inside the block.

    Only globals that are not allowed already are added, and only those are removed on
    exit, so blocks nest and a caller's own ``add_safe_globals`` survives.
    """
    allowed = set(torch.serialization.get_safe_globals())
    missing = [g for g in safe_checkpoint_globals() if g not in allowed]
    with torch.serialization.safe_globals(missing):
        yield


def _refused_globals(filename: str, error: Exception) -> str:
    """What safe loading refused in ``filename``, for the error message: the globals
    torch's static scan lists, else (a refused ``getattr``, a legacy non-zip file) the
    unpickler's own words, which torch puts between its advice and its documentation link."""
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    except (ValueError, RuntimeError):  # legacy (non-zip) format: torch cannot scan it
        unsafe = []
    if unsafe:
        return 'not allowed: ' + ', '.join(sorted(unsafe))
    paragraphs = [p.strip() for p in str(error).split('\n\n') if p.strip()]
    if len(paragraphs) >= 3:
        return ' '.join(paragraphs[1:-1])
    return paragraphs[-1] if paragraphs else type(error).__name__


def _parses_as_pickle(filename: str) -> bool:
    """Whether the file starts with a complete pickle (parsed, never run)."""
    try:
        with open(filename, 'rb') as f:
            for _ in pickletools.genops(f):
                pass
    except Exception:  # garbage raises ValueError, truncation EOFError, and more
        return False
    return True


def _damage(filename: str) -> Optional[str]:
    """Why ``filename`` cannot be a readable checkpoint, or None if it looks intact.

    A zip checkpoint (torch's format since 1.6) is intact when its central directory reads
    and every member passes its CRC check; a non-zip file must at least start with a
    pickle (torch's legacy format).
    """
    size = osp.getsize(filename)
    if size == 0:
        return 'the file is empty'
    with open(filename, 'rb') as f:
        starts_as_zip = f.read(4) == b'PK\x03\x04'
    if zipfile.is_zipfile(filename):
        try:
            with zipfile.ZipFile(filename) as archive:
                bad = archive.testzip()
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as error:
            return f'a damaged zip archive ({error})'
        return None if bad is None else f'zip member {bad} fails its CRC check'
    if starts_as_zip:
        return 'a zip archive without its central directory, i.e. cut short'
    if not _parses_as_pickle(filename):
        return 'neither a zip checkpoint nor a pickle'
    return None


def explain_load_error(filename: str, error: Exception) -> Optional[Exception]:
    """The clear error for a failed load of the local file ``filename``, or None.

    Args:
        filename (str): The checkpoint that failed to load.
        error (Exception): What loading raised.

    Returns:
        Exception | None: :class:`CorruptCheckpointError` if the file is damaged,
        :class:`UnsafeCheckpointError` if it is intact and safe loading refused it, None
        otherwise (the error is not about the file: raise it as it is).
    """
    damage = _damage(filename)
    if damage is not None:
        first_sentence = str(error).split('. ')[0].strip()
        torch_says = f'{type(error).__name__}: {first_sentence}' if first_sentence \
            else type(error).__name__
        return CorruptCheckpointError(
            f'checkpoint {filename} ({osp.getsize(filename)} bytes) is truncated or corrupt '
            f'and cannot be read: {damage} ({torch_says}). Delete it or use an earlier '
            f'checkpoint, e.g. --resume --cfg-options load_from=<earlier iter_N.pth>.')
    if isinstance(error, pickle.UnpicklingError):
        return UnsafeCheckpointError(
            f'refused to load checkpoint {filename}: it holds pickled objects that safe '
            f'loading (weights_only) does not allow, and unpickling them could run '
            f'arbitrary code ({_refused_globals(filename, error)}). Checkpoints written by '
            f'mmengine and lrseg_mm load safely; only load other files from sources you '
            f'trust.')
    return None


@contextmanager
def checkpoint_errors_named(filename: str) -> Iterator[None]:
    """Load safely inside the block; translate errors about ``filename`` (a local file).

    Enters :func:`safe_checkpoint_loading`; an error raised in the block is replaced by
    :func:`explain_load_error`'s when ``filename`` is a local file and the error is about
    it, and passes through otherwise.
    """
    with safe_checkpoint_loading():
        try:
            yield
        except Exception as error:
            if not (isinstance(filename, str) and osp.isfile(filename)):
                raise
            explained = explain_load_error(filename, error)
            if explained is None:
                raise
            raise explained from None


def load_local_checkpoint(filename: str, map_location=None):
    """Load a local checkpoint safely; raise clear errors naming it.

    ``weights_only`` is left to torch's default (True since torch 2.6), so that
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` still turns it off for trusted files.

    Args:
        filename (str): Path of the checkpoint (``~`` is expanded).
        map_location: As for :func:`torch.load`. Default: None.

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
    with checkpoint_errors_named(filename):
        return torch.load(filename, map_location=map_location)


@HOOKS.register_module()
class SafeCheckpointLoadingHook(Hook):
    """Allow mmengine's checkpoint types for ``weights_only`` loads during a run.

    For the toolbox's own ``tools/test.py``, which builds a plain ``Runner``: the Runner
    loads ``load_from`` / resumes right after ``before_run``, so entering
    :func:`safe_checkpoint_loading` there and leaving it in ``after_run`` covers that load
    and nothing outside the run. (:class:`~lrseg_mm.engine.LrsegRunner` does the same per
    load and also names the file in errors.) Our configs list this hook in
    ``custom_hooks``.

    Args:
        priority (str | int): Hook priority. Default: 'VERY_HIGH'.
    """

    def __init__(self, priority='VERY_HIGH'):
        self.priority = priority
        self._context = None

    def before_run(self, runner) -> None:
        if self._context is None:
            self._context = safe_checkpoint_loading()
            self._context.__enter__()

    def after_run(self, runner) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            context.__exit__(None, None, None)


__all__: List[str] = [
    'CorruptCheckpointError', 'SafeCheckpointLoadingHook', 'UnsafeCheckpointError',
    'checkpoint_errors_named', 'explain_load_error', 'load_local_checkpoint',
    'safe_checkpoint_globals', 'safe_checkpoint_loading'
]
