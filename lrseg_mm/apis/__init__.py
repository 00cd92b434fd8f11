"""Building segmentors, inference and deployment: what tools/, benchmarks/ and tests use."""
from .deploy import BACKENDS, DeployedModel, DeployedRunner, build_backend
from .export import (Parity, SegmentorForExport, calibrate_untrained, export_onnx,
                     float32_rounding_error, onnxruntime_parity)
from .inference import (OverlayPainter, UnreadableImageError, collect_images, infer_images,
                        label_image, load_segmentor, read_image, resolve_config_path)

__all__ = [
    'BACKENDS', 'DeployedModel', 'DeployedRunner', 'OverlayPainter', 'Parity',
    'SegmentorForExport', 'UnreadableImageError', 'build_backend', 'calibrate_untrained',
    'collect_images', 'export_onnx', 'float32_rounding_error', 'infer_images', 'label_image',
    'load_segmentor', 'onnxruntime_parity', 'read_image', 'resolve_config_path'
]
