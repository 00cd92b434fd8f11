"""INT8 post-training quantisation of an exported fp32 graph, with each runtime's own tool:
ONNX Runtime's ``quantize_static`` (:func:`quantize_int8`, QDQ format, run as INT8 by
ONNX Runtime and OpenVINO alike) and NNCF's ``nncf.quantize`` (:func:`quantize_int8_openvino`,
an OpenVINO IR with ``FakeQuantize`` wherever NNCF's CPU patterns place them). Both
calibrate on a reader's crops (:mod:`lrseg_mm.deploy.calibration`) and copy the fp32 graph's
metadata into the INT8 file; accuracy is the config's test run (:mod:`.segmentor`).
"""
import json
import os
import os.path as osp
import warnings
from typing import Optional, Sequence

from .backends import import_backend
from .calibration import ImageFolderCalibrationReader
from .metadata import RT_INFO_SECTION, graph_metadata, is_openvino_ir

# The multiply-adds, where INT8 kernels pay off. OpenVINO 2026.4 crashes compiling LRNNet's
# graph with QDQ pairs around MaxPool/Concat/Add/Relu and refuses them around Mul; with
# this set one INT8 file runs on both runtimes.
DEFAULT_OP_TYPES = ('Conv', 'MatMul')

# NNCF presets: symmetric activations (zero point 0, the fastest kernels) or asymmetric
OPENVINO_PRESETS = ('performance', 'mixed')
# NNCF activation ranges: extremes over all crops, or the mean of each crop's (its default)
OPENVINO_RANGES = ('minmax', 'mean_minmax')


def _check_choice(name: str, value: str, choices) -> None:
    """A ValueError naming the ``choices`` unless ``value`` is one of them."""
    if value not in choices:
        raise ValueError(f'{name} must be one of {", ".join(choices)}, got {value!r}')


def cpu_has_vnni() -> bool:
    """Whether this CPU has VNNI, from ``/proc/cpuinfo`` (True where unreadable). Without
    it x86 U8S8 kernels add pairs of products in saturating 16 bits, which full-range INT8
    weights overflow: quantise for such CPUs with ``reduce_range=True``."""
    try:
        with open('/proc/cpuinfo') as f:
            return 'vnni' in f.read()
    except OSError:
        return True


def quantize_int8(fp32_file: str, out_file: str, reader: ImageFolderCalibrationReader,
                  per_channel: bool = True, activation_type: str = 'uint8',
                  reduce_range: bool = False, method: str = 'minmax',
                  op_types: Optional[Sequence[str]] = DEFAULT_OP_TYPES) -> str:
    """Statically quantise an exported fp32 graph to INT8 (QDQ format), after ONNX
    Runtime's ``quant_pre_process`` where that succeeds.

    Args:
        fp32_file (str): The fp32 ONNX file (static input shape).
        out_file (str): The INT8 file to write (returned); it gets the fp32 file's metadata.
        reader (ImageFolderCalibrationReader): Calibration inputs.
        per_channel (bool): One weight scale per output channel. Default: True.
        activation_type (str): 'uint8' (U8S8, the x86 default) or 'int8'. Default: 'uint8'.
        reduce_range (bool): 7-bit weights, for CPUs without :func:`cpu_has_vnni`. Default: False.
        method (str): 'minmax', 'percentile' or 'entropy' activation ranges. Default: 'minmax'.
        op_types (sequence[str], optional): Operator types to quantise; None = all ONNX
            Runtime can. Default: :data:`DEFAULT_OP_TYPES`.
    """
    import_backend('onnxruntime')
    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    types = {'uint8': QuantType.QUInt8, 'int8': QuantType.QInt8}
    methods = {'minmax': CalibrationMethod.MinMax, 'percentile': CalibrationMethod.Percentile,
               'entropy': CalibrationMethod.Entropy}
    _check_choice('activation_type', activation_type, sorted(types))
    _check_choice('method', method, sorted(methods))
    os.makedirs(osp.dirname(osp.abspath(out_file)) or '.', exist_ok=True)
    source = fp32_file
    try:
        quant_pre_process(fp32_file, out_file + '.prep.onnx')
        source = out_file + '.prep.onnx'
    except Exception as error:  # symbolic shape inference fails on some graphs
        warnings.warn(f'quant_pre_process failed ({error!r}); quantising the graph as exported')
    reader.rewind()
    try:
        quantize_static(
            source, out_file, reader, quant_format=QuantFormat.QDQ, per_channel=per_channel,
            reduce_range=reduce_range, activation_type=types[activation_type],
            weight_type=QuantType.QInt8, calibrate_method=methods[method],
            op_types_to_quantize=list(op_types) if op_types else None,
            # chunks of crops: all crops' intermediate outputs at once would not fit in memory
            extra_options={'CalibStridedMinMax': _calibration_stride(len(reader))})
    finally:
        if source != fp32_file and osp.exists(source):
            os.remove(source)
    model = onnx.load(out_file)
    present = {p.key for p in model.metadata_props}
    for prop in onnx.load(fp32_file, load_external_data=False).metadata_props:
        if prop.key not in present:
            model.metadata_props.add(key=prop.key, value=prop.value)
    model.metadata_props.add(key='quantization', value=json.dumps(dict(
        format='QDQ', weights='int8 per-channel' if per_channel else 'int8 per-tensor',
        activations=activation_type, method=method, calibration_images=len(reader),
        op_types=list(op_types) if op_types else 'all')))
    onnx.save(model, out_file)
    return out_file


def import_nncf():
    """NNCF (OpenVINO's quantisation toolkit); an ImportError saying ``pip install nncf``
    if it is not installed."""
    try:
        import nncf
    except ImportError as error:
        raise ImportError('OpenVINO quantisation needs the nncf package, which is not '
                          'installed: pip install nncf') from error
    return nncf


def quantize_int8_openvino(fp32_file: str, out_file: str, reader: ImageFolderCalibrationReader,
                           preset: str = 'performance', activation_range: str = 'minmax') -> str:
    """Quantise an exported fp32 graph to INT8 with NNCF (per-channel symmetric weights,
    activations per ``preset``, fast bias correction), as an OpenVINO IR.

    Args:
        fp32_file (str): The fp32 ONNX file (static input shape), or an fp32 IR.
        out_file (str): The ``.xml`` to write (returned; weights in the ``.bin`` beside
            it), with the fp32 file's metadata and a ``quantization`` entry in its
            ``rt_info`` under :data:`RT_INFO_SECTION`.
        reader (ImageFolderCalibrationReader): Calibration inputs (all of them are used).
        preset (str): One of :data:`OPENVINO_PRESETS`. Default: 'performance'.
        activation_range (str): One of :data:`OPENVINO_RANGES`; 'mean_minmax' clips the
            rarer large values. Default: 'minmax'.
    """
    if not is_openvino_ir(out_file):
        raise ValueError(f'an OpenVINO IR is written as .xml (weights in the .bin beside '
                         f'it); got out_file {out_file!r}')
    _check_choice('preset', preset, OPENVINO_PRESETS)
    _check_choice('activation_range', activation_range, OPENVINO_RANGES)
    nncf = import_nncf()
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet
    ov = import_backend('openvino')
    model = ov.Core().read_model(fp32_file)
    quantized = nncf.quantize(model, nncf.Dataset(reader),
                              preset=getattr(nncf.QuantizationPreset, preset.upper()),
                              subset_size=len(reader), fast_bias_correction=True,
                              advanced_parameters=AdvancedQuantizationParameters(
                                  activations_range_estimator_params=getattr(
                                      RangeEstimatorParametersSet,
                                      activation_range.upper())))
    meta = graph_metadata(fp32_file)
    meta['quantization'] = json.dumps(dict(
        format='NNCF FakeQuantize', tool=f'nncf {nncf.__version__}', preset=preset,
        weights='int8 per-channel symmetric',
        activations='8-bit symmetric' if preset == 'performance' else '8-bit asymmetric',
        activation_range=activation_range, fast_bias_correction=True,
        calibration_images=len(reader)))
    for key, value in meta.items():
        quantized.set_rt_info(value, [RT_INFO_SECTION, key])
    os.makedirs(osp.dirname(osp.abspath(out_file)) or '.', exist_ok=True)
    ov.save_model(quantized, out_file, compress_to_fp16=False)
    return out_file


def _calibration_stride(num_images: int, most: int = 8) -> int:
    """Crops per calibration chunk: the largest divisor of ``num_images`` up to ``most``."""
    return max(d for d in range(1, most + 1) if num_images % d == 0)
