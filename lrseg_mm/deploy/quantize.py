"""INT8 post-training quantisation of an exported fp32 graph, with each runtime's own tool.

* :func:`quantize_int8`: ONNX Runtime's ``quantize_static``, QDQ format (``QuantizeLinear`` /
  ``DequantizeLinear`` pairs, run as INT8 kernels by ONNX Runtime and OpenVINO alike),
  per-channel INT8 weights.
* :func:`quantize_int8_openvino`: NNCF's ``nncf.quantize`` on the graph read by OpenVINO, an
  IR (``.xml`` + ``.bin``) with ``FakeQuantize`` operators wherever NNCF's CPU patterns
  place them (also pooling, concatenation and additions). Runs in OpenVINO only.

Both calibrate on a reader's inputs (:mod:`lrseg_mm.deploy.calibration`) and copy the fp32
graph's metadata into the INT8 file; accuracy is measured by the config's test run
(:mod:`lrseg_mm.deploy.evaluation`).
"""
import json
import os
import os.path as osp
import warnings
from typing import Optional, Sequence

from .backends import import_backend
from .calibration import ImageFolderCalibrationReader
from .metadata import RT_INFO_SECTION, graph_metadata, is_openvino_ir

# The multiply-adds (convolutions, the SVN/attention matrix products): where INT8 kernels
# pay off. Elementwise ops, pooling and concatenation stay fp32 between them. Wider sets
# run in ONNX Runtime, but OpenVINO 2026.4 crashes (segfault) compiling LRNNet's graph with
# QDQ pairs around MaxPool/Concat/Add/Relu, and refuses them around Mul; with this set one
# INT8 file runs on both backends.
DEFAULT_OP_TYPES = ('Conv', 'MatMul')

# NNCF presets: 'performance' quantises activations symmetrically (INT8 with zero point 0,
# the fastest kernels), 'mixed' asymmetrically (a zero point per tensor: more accurate for
# activations far from symmetric, e.g. after ReLU); weights are symmetric in both.
OPENVINO_PRESETS = ('performance', 'mixed')
# NNCF activation range estimators: 'minmax' the smallest and largest value over all
# calibration crops (as quantize_int8's 'minmax'), 'mean_minmax' the mean over crops of each
# crop's extremes (NNCF's default; it clips what only a few crops reach)
OPENVINO_RANGES = ('minmax', 'mean_minmax')


def quantize_int8(fp32_file: str,
                  out_file: str,
                  reader: ImageFolderCalibrationReader,
                  per_channel: bool = True,
                  activation_type: str = 'uint8',
                  reduce_range: bool = False,
                  method: str = 'minmax',
                  op_types: Optional[Sequence[str]] = DEFAULT_OP_TYPES,
                  preprocess: bool = True) -> str:
    """Statically quantise an exported fp32 graph to INT8 (QDQ format).

    Args:
        fp32_file (str): The fp32 ONNX file (static input shape).
        out_file (str): Where to write the INT8 file; the fp32 file's metadata (the
            preprocessing, class names) is copied into it.
        reader (ImageFolderCalibrationReader): Calibration inputs.
        per_channel (bool): One weight scale per output channel. Default: True.
        activation_type (str): 'uint8' (U8S8, the x86 default pairing with INT8 weights)
            or 'int8' (S8S8). Default: 'uint8'.
        reduce_range (bool): 7-bit weights, for x86 CPUs without VNNI whose U8S8
            instructions can saturate. Default: False.
        method (str): Activation range calibration: 'minmax', 'percentile' or 'entropy'.
            Default: 'minmax'.
        op_types (sequence[str], optional): Operator types to quantise; None = every
            type ONNX Runtime can. Default: :data:`DEFAULT_OP_TYPES`.
        preprocess (bool): Run ONNX Runtime's ``quant_pre_process`` (shape inference and
            graph optimisation, recommended before quantising) first. Default: True.

    Returns:
        str: ``out_file``.

    Raises:
        ImportError: If onnxruntime is not installed (with the pip command).
        ValueError: For an unknown ``activation_type`` or ``method``.
    """
    import_backend('onnxruntime')
    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process

    types = {'uint8': QuantType.QUInt8, 'int8': QuantType.QInt8}
    methods = {'minmax': CalibrationMethod.MinMax, 'percentile': CalibrationMethod.Percentile,
               'entropy': CalibrationMethod.Entropy}
    if activation_type not in types:
        raise ValueError(f'activation_type must be one of {sorted(types)}, got '
                         f'{activation_type!r}')
    if method not in methods:
        raise ValueError(f'method must be one of {sorted(methods)}, got {method!r}')
    os.makedirs(osp.dirname(osp.abspath(out_file)) or '.', exist_ok=True)
    source = fp32_file
    if preprocess:
        prepared = out_file + '.prep.onnx'
        try:
            quant_pre_process(fp32_file, prepared)
            source = prepared
        except Exception as error:  # symbolic shape inference fails on some graphs
            warnings.warn(f'quant_pre_process failed ({error!r}); quantising the graph as '
                          'exported')
    reader.rewind()
    try:
        quantize_static(
            source, out_file, reader, quant_format=QuantFormat.QDQ, per_channel=per_channel,
            reduce_range=reduce_range, activation_type=types[activation_type],
            weight_type=QuantType.QInt8, calibrate_method=methods[method],
            op_types_to_quantize=list(op_types) if op_types else None,
            # chunks of crops: hundreds of full-size crops' intermediate outputs at once
            # would not fit in memory (the option also works for the histogram methods)
            extra_options={'CalibStridedMinMax': calibration_stride(len(reader))})
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
    """Import NNCF (OpenVINO's quantisation toolkit).

    Raises:
        ImportError: Saying ``pip install nncf``, if it is not installed.
    """
    try:
        import nncf
    except ImportError as error:
        raise ImportError('OpenVINO quantisation needs the nncf package, which is not '
                          'installed: pip install nncf') from error
    return nncf


class _NNCFCalibrationData:
    """The reader's crops as an iterable NNCF can go through more than once (each pass
    rewinds the reader; crops are made one at a time, as for ONNX Runtime)."""

    def __init__(self, reader: ImageFolderCalibrationReader):
        self.reader = reader

    def __iter__(self):
        self.reader.rewind()
        return iter(self.reader.get_next, None)

    def __len__(self) -> int:
        return len(self.reader)


def quantize_int8_openvino(fp32_file: str,
                           out_file: str,
                           reader: ImageFolderCalibrationReader,
                           preset: str = 'performance',
                           fast_bias_correction: bool = True,
                           activation_range: str = 'minmax') -> str:
    """Quantise an exported fp32 graph to INT8 with NNCF, as an OpenVINO IR.

    OpenVINO reads the fp32 graph, ``nncf.quantize`` inserts ``FakeQuantize`` operators
    (per-channel symmetric INT8 weights; activations per ``preset``) calibrated on every
    crop of ``reader``, and bias correction compensates the shift quantisation gives each
    layer's mean output. The IR runs in OpenVINO only (``build_backend('openvino',
    onnx_file=out_file)``); its fp32 constants are kept fp32 (not compressed to fp16).

    Args:
        fp32_file (str): The fp32 ONNX file (static input shape), or an fp32 IR.
        out_file (str): The ``.xml`` file to write (the weights go to the ``.bin`` beside
            it); the fp32 file's metadata (the preprocessing, class names) is copied into
            its ``rt_info`` under :data:`RT_INFO_SECTION`, with a ``quantization`` entry.
        reader (ImageFolderCalibrationReader): Calibration inputs (all of them are used).
        preset (str): 'performance' (symmetric activations) or 'mixed' (asymmetric
            activations). Default: 'performance'.
        fast_bias_correction (bool): NNCF's fast bias correction; False runs the slower,
            more exact one. Default: True.
        activation_range (str): How activation ranges are estimated from the crops:
            'minmax' (overall extremes, as :func:`quantize_int8` does) or 'mean_minmax'
            (NNCF's default: per-crop extremes averaged, which clips the rarer large
            values; on the trained test model it lost 10 dB of logit accuracy against
            'minmax' with 8 crops). Default: 'minmax'.

    Returns:
        str: ``out_file``.

    Raises:
        ValueError: If ``out_file`` does not end in ``.xml``, or for an unknown ``preset``
            or ``activation_range``.
        ImportError: If nncf or openvino is not installed (with the pip command).
    """
    if not is_openvino_ir(out_file):
        raise ValueError(f'an OpenVINO IR is written as .xml (weights in the .bin beside '
                         f'it); got out_file {out_file!r}')
    if preset not in OPENVINO_PRESETS:
        raise ValueError(f'preset must be one of {", ".join(OPENVINO_PRESETS)}, got '
                         f'{preset!r}')
    if activation_range not in OPENVINO_RANGES:
        raise ValueError(f'activation_range must be one of {", ".join(OPENVINO_RANGES)}, '
                         f'got {activation_range!r}')
    nncf = import_nncf()
    from nncf.quantization.advanced_parameters import AdvancedQuantizationParameters
    from nncf.quantization.range_estimator import RangeEstimatorParametersSet
    ov = import_backend('openvino')
    model = ov.Core().read_model(fp32_file)
    presets = {'performance': nncf.QuantizationPreset.PERFORMANCE,
               'mixed': nncf.QuantizationPreset.MIXED}
    quantized = nncf.quantize(model, nncf.Dataset(_NNCFCalibrationData(reader)),
                              preset=presets[preset], subset_size=len(reader),
                              fast_bias_correction=fast_bias_correction,
                              advanced_parameters=AdvancedQuantizationParameters(
                                  activations_range_estimator_params=getattr(
                                      RangeEstimatorParametersSet,
                                      activation_range.upper())))
    meta = graph_metadata(fp32_file)
    meta['quantization'] = json.dumps(dict(
        format='NNCF FakeQuantize', tool=f'nncf {nncf.__version__}', preset=preset,
        weights='int8 per-channel symmetric',
        activations='8-bit symmetric' if preset == 'performance' else '8-bit asymmetric',
        activation_range=activation_range, fast_bias_correction=fast_bias_correction,
        calibration_images=len(reader)))
    for key, value in meta.items():
        quantized.set_rt_info(value, [RT_INFO_SECTION, key])
    os.makedirs(osp.dirname(osp.abspath(out_file)) or '.', exist_ok=True)
    ov.save_model(quantized, out_file, compress_to_fp16=False)
    return out_file


def calibration_stride(num_images: int, most: int = 8) -> int:
    """Images per calibration chunk: the largest divisor of ``num_images`` up to ``most``.

    ONNX Runtime keeps every intermediate output of a chunk in memory (hundreds of MB per
    full-size crop) and needs the chunks to divide the calibration set evenly.
    """
    return max(d for d in range(1, most + 1) if num_images % d == 0)
