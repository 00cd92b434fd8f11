"""Building segmentors and segmenting image files. Deployment lives in
:mod:`lrseg_mm.deploy`; the names of it that benchmarks and tools/benchmark.py import from
here are re-exported."""
from lrseg_mm.deploy import (BACKENDS, SegmentorForExport, build_backend, cached_export,
                             onnxruntime_session, openvino_compiled_model)
from .inferencer import (LrsegInferencer, UnreadableImageError, collect_images, label_image,
                         list_images, read_image)
from .segmentor import load_config, load_segmentor, resolve_config_path

__all__ = [
    'BACKENDS', 'LrsegInferencer', 'SegmentorForExport', 'UnreadableImageError',
    'build_backend', 'cached_export', 'collect_images', 'label_image', 'list_images',
    'load_config', 'load_segmentor', 'onnxruntime_session', 'openvino_compiled_model',
    'read_image', 'resolve_config_path'
]
