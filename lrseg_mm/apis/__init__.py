"""Building segmentors and segmenting image files; deployment lives in :mod:`lrseg_mm.deploy`
(its names used by tools and benchmarks are re-exported here)."""
from lrseg_mm.deploy import (BACKENDS, DeployedModel, SegmentorForExport,
                             build_backend, cached_export, calibrate_untrained, export_onnx,
                             onnxruntime_session, openvino_compiled_model)
from .inferencer import (LrsegInferencer, UnreadableImageError, collect_images, label_image,
                         list_images, read_image)
from .segmentor import load_segmentor, resolve_config_path

__all__ = [
    'BACKENDS', 'DeployedModel', 'LrsegInferencer', 'SegmentorForExport',
    'UnreadableImageError', 'build_backend', 'cached_export', 'calibrate_untrained',
    'collect_images', 'export_onnx', 'label_image', 'list_images', 'load_segmentor',
    'onnxruntime_session', 'openvino_compiled_model', 'read_image', 'resolve_config_path'
]
