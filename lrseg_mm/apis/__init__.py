"""Inference and deployment: the functions behind tools/infer.py and tools/export_onnx.py."""
from .export import (Parity, SegmentorForExport, calibrate_untrained, export_onnx,
                     float32_rounding_error, onnxruntime_parity)
from .inference import (OverlayPainter, UnreadableImageError, collect_images, infer_images,
                        label_image, load_segmentor, read_image)

__all__ = [
    'OverlayPainter', 'Parity', 'SegmentorForExport', 'UnreadableImageError',
    'calibrate_untrained', 'collect_images', 'export_onnx', 'float32_rounding_error',
    'infer_images', 'label_image', 'load_segmentor', 'onnxruntime_parity', 'read_image'
]
