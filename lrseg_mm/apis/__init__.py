from .export import (Parity, SegmentorForExport, export_onnx, load_segmentor,
                     onnxruntime_parity)

__all__ = ['Parity', 'SegmentorForExport', 'export_onnx', 'load_segmentor',
           'onnxruntime_parity']
