"""lrseg-mm: light-weight real-time segmentation models for MMSegmentation 1.x.

Importing the package registers its models and datasets in mmseg's registries and applies
the compatibility fixes of :mod:`lrseg_mm.engine.compat`.
"""
from . import datasets, models  # noqa: F401  (registers modules)
from .engine import apply_all as _apply_compat_fixes

__version__ = '0.1.0'

_apply_compat_fixes()
