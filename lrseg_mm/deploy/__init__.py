"""Deployment: ONNX export, the CPU runtimes, INT8 quantisation, and evaluation of an
exported graph by the toolbox's test loop, one job per module."""
from .backends import (BACKENDS, DeployedModel, Parity, backend_parity, build_backend,
                       float32_rounding_error, import_backend, onnxruntime_session,
                       openvino_compiled_model)
from .calibration import ImageFolderCalibrationReader
from .export import (INPUT_NAME, OUTPUT_NAME, SegmentorForExport, cached_export,
                     calibrate_untrained, export_onnx, random_images)
from .metadata import graph_input_shape, graph_metadata, is_openvino_ir
from .quantize import (DEFAULT_OP_TYPES, OPENVINO_PRESETS, OPENVINO_RANGES, cpu_has_vnni,
                       import_nncf, quantize_int8, quantize_int8_openvino)
from .segmentor import BackendSegmentor, backend_test_config, run_test

__all__ = [
    'BACKENDS', 'DEFAULT_OP_TYPES', 'INPUT_NAME', 'OPENVINO_PRESETS', 'OPENVINO_RANGES',
    'OUTPUT_NAME', 'BackendSegmentor', 'DeployedModel', 'ImageFolderCalibrationReader',
    'Parity', 'SegmentorForExport', 'backend_parity', 'backend_test_config', 'build_backend',
    'cached_export', 'calibrate_untrained', 'cpu_has_vnni', 'export_onnx',
    'float32_rounding_error', 'graph_input_shape', 'graph_metadata', 'import_backend',
    'import_nncf', 'is_openvino_ir', 'onnxruntime_session', 'openvino_compiled_model',
    'quantize_int8', 'quantize_int8_openvino', 'random_images', 'run_test'
]
