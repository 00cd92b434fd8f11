"""lrseg-mm: light-weight real-time segmentation models for MMSegmentation 1.x.

Importing the package registers its models, datasets and engine extensions in the
registries (mmseg's, and mmengine's runner registry) and changes nothing else: the Runner,
DDP wrapper and hooks of :mod:`lrseg_mm.engine` act only where a config selects them.
"""
from . import datasets, engine, models  # noqa: F401  (registers modules)
from . import evaluation  # noqa: F401  (registers the metric and hook)

__version__ = '0.1.0'
