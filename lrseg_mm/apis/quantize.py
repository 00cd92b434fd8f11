"""INT8 post-training quantisation of an exported segmentor, and its accuracy check.

* :func:`quantize_int8`: ONNX Runtime static quantisation (``quantize_static``) of the fp32
  graph of :func:`lrseg_mm.apis.export.export_onnx`, QDQ format (``QuantizeLinear`` /
  ``DequantizeLinear`` pairs around each quantised operator, which ONNX Runtime and OpenVINO
  both run as INT8 kernels), per-channel INT8 weights, activations calibrated on real images
  by :class:`ImageFolderCalibrationReader`.
* :func:`quantize_int8_openvino`: NNCF post-training quantisation (``nncf.quantize``) of the
  same fp32 graph read by OpenVINO, written as an OpenVINO IR (``.xml`` + ``.bin``) with
  ``FakeQuantize`` operators wherever NNCF's CPU patterns place them (convolutions,
  matrix products, and the pooling/concatenation/addition around them that the QDQ file
  leaves fp32), calibrated on the same crops. Runs in OpenVINO only.
* :func:`evaluate_folder`: val mIoU of any backend callable (fp32 or INT8, see
  :func:`lrseg_mm.apis.deploy.build_backend`) on a folder of images and label maps, with
  the definition of the toolbox's ``IoUMetric``.

The exported graph takes a *normalised* batch: the preprocessing (channel order, mean,
std) is not in the graph but in the file's metadata (an ONNX file's ``metadata_props``, an
OpenVINO IR's ``rt_info`` under ``lrseg_mm``), and :func:`graph_preprocessing` reads it
from there, so calibration and evaluation normalise exactly as the model was trained.
Images are brought to the size the config's test pipeline gives them (its ``Resize`` with
``keep_ratio``: ``mmcv.imrescale``, as the toolbox does); calibration then takes random
crops of the graph's input size from them (the graph is static).
"""
import json
import os
import os.path as osp
import warnings
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from .inference import IMAGE_EXTENSIONS, read_image

# The multiply-adds (convolutions, the SVN/attention matrix products): where INT8 kernels
# pay off. Elementwise ops, pooling and concatenation stay fp32 between them. Wider sets
# run in ONNX Runtime, but OpenVINO 2026.4 crashes (segfault) compiling LRNNet's graph with
# QDQ pairs around MaxPool/Concat/Add/Relu, and refuses them around Mul; with this set one
# INT8 file runs on both backends.
DEFAULT_OP_TYPES = ('Conv', 'MatMul')

try:  # quantisation needs onnxruntime; the preprocessing and the metrics do not
    from onnxruntime.quantization import CalibrationDataReader
except ImportError:  # pragma: no cover - reported by quantize_int8 with the pip command
    CalibrationDataReader = object


# rt_info section of an OpenVINO IR holding the ONNX file's metadata_props
RT_INFO_SECTION = 'lrseg_mm'
# NNCF presets: 'performance' quantises activations symmetrically (INT8 with zero point 0,
# the fastest kernels), 'mixed' asymmetrically (a zero point per tensor: more accurate for
# activations far from symmetric, e.g. after ReLU); weights are symmetric in both.
OPENVINO_PRESETS = ('performance', 'mixed')
# NNCF activation range estimators: 'minmax' the smallest and largest value over all
# calibration crops (as quantize_int8's 'minmax'), 'mean_minmax' the mean over crops of each
# crop's extremes (NNCF's default; it clips what only a few crops reach)
OPENVINO_RANGES = ('minmax', 'mean_minmax')


def is_openvino_ir(model_file: str) -> bool:
    """Whether ``model_file`` names an OpenVINO IR (``.xml``; its weights in the ``.bin``)."""
    return model_file.lower().endswith('.xml')


def graph_metadata(model_file: str) -> Dict[str, str]:
    """The key/value metadata of an exported graph, as strings.

    An ONNX file's ``metadata_props``; for an OpenVINO IR (``.xml``, e.g. from
    :func:`quantize_int8_openvino`) the same keys from its ``rt_info`` section
    :data:`RT_INFO_SECTION`.
    """
    if is_openvino_ir(model_file):
        from .deploy import import_backend
        ov = import_backend('openvino')
        model = ov.Core().read_model(model_file)
        if not model.has_rt_info([RT_INFO_SECTION]):
            return {}
        section = model.get_rt_info()[RT_INFO_SECTION]
        return {key: model.get_rt_info([RT_INFO_SECTION, key]).astype(str)
                for key in section}
    import onnx
    return {p.key: p.value
            for p in onnx.load(model_file, load_external_data=False).metadata_props}


def graph_preprocessing(model_file: str) -> dict:
    """What an exported graph expects: ``dict(rgb=bool, mean=array, std=array)``.

    Read from the metadata :func:`lrseg_mm.apis.export.export_onnx` writes, or its copy in
    an OpenVINO IR (:func:`graph_metadata`; mean 0 and std 1 when the model normalises
    nothing).

    Args:
        model_file (str): An ONNX file or an OpenVINO IR (``.xml``).
    """
    meta = graph_metadata(model_file)
    return dict(rgb=meta.get('input_channel_order', 'bgr') == 'rgb',
                mean=np.array(json.loads(meta.get('mean', '[0, 0, 0]')), dtype=np.float32),
                std=np.array(json.loads(meta.get('std', '[1, 1, 1]')), dtype=np.float32))


def graph_input_shape(model_file: str) -> Optional[Tuple[int, int]]:
    """(H, W) of a static graph's input, or None when height or width is dynamic.

    Args:
        model_file (str): An ONNX file or an OpenVINO IR (``.xml``).
    """
    if is_openvino_ir(model_file):
        from .deploy import import_backend
        ov = import_backend('openvino')
        dims = ov.Core().read_model(model_file).inputs[0].get_partial_shape()
        h, w = dims[2], dims[3]
        return (h.get_length(), w.get_length()) if h.is_static and w.is_static else None
    import onnx
    dims = onnx.load(model_file, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    h, w = dims[2].dim_value, dims[3].dim_value
    return (h, w) if h > 0 and w > 0 else None


def pipeline_resize_scale(cfg) -> Optional[Tuple[int, int]]:
    """The ``(W, H)`` scale of the keep-ratio ``Resize`` in a config's test pipeline.

    Looks at ``cfg.test_pipeline``, then the test dataloader's pipeline; None if neither
    resizes with ``keep_ratio=True``.
    """
    pipelines = [cfg.get('test_pipeline') or []]
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    pipelines.append(dataset.get('pipeline') or [])
    for pipeline in pipelines:
        for transform in pipeline:
            if transform.get('type') == 'Resize' and transform.get('keep_ratio', False):
                return tuple(transform['scale'])
    return None


def normalise(img_bgr: np.ndarray, preprocessing: dict) -> np.ndarray:
    """A BGR uint8 ``(H, W, 3)`` image as the graph's ``(3, H, W)`` float32 input."""
    img = img_bgr[..., ::-1] if preprocessing['rgb'] else img_bgr
    img = (img.astype(np.float32) - preprocessing['mean']) / preprocessing['std']
    return np.ascontiguousarray(img.transpose(2, 0, 1), dtype=np.float32)


def rescale_like_test_pipeline(img: np.ndarray,
                               scale: Optional[Tuple[int, int]]) -> np.ndarray:
    """``mmcv.imrescale`` to ``scale`` (W, H) as the toolbox's keep-ratio ``Resize`` does."""
    if scale is None:
        return img
    import mmcv
    return mmcv.imrescale(img, tuple(scale), interpolation='bilinear', backend='cv2')


def random_crop(img: np.ndarray, shape: Tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A random ``shape`` (H, W) crop; an image smaller than that is resized to it."""
    h, w = shape
    if img.shape[0] < h or img.shape[1] < w:
        import mmcv
        return mmcv.imresize(img, (w, h), interpolation='bilinear', backend='cv2')
    top = int(rng.integers(0, img.shape[0] - h + 1))
    left = int(rng.integers(0, img.shape[1] - w + 1))
    return img[top:top + h, left:left + w]


def list_images(folder: str) -> List[str]:
    """The image files directly inside ``folder``, sorted.

    Raises:
        FileNotFoundError: If ``folder`` is not a folder.
        ValueError: If it holds no images.
    """
    if not osp.isdir(folder):
        raise FileNotFoundError(f'image folder not found: {folder}')
    files = sorted(osp.join(folder, name) for name in os.listdir(folder)
                   if name.lower().endswith(IMAGE_EXTENSIONS))
    if not files:
        raise ValueError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) in folder {folder}')
    return files


class ImageFolderCalibrationReader(CalibrationDataReader):
    """Calibration batches for ONNX Runtime's ``quantize_static`` (and NNCF's
    ``quantize``, see :func:`quantize_int8_openvino`): crops of real images.

    ``num_images`` crops of the graph's input size, one at a time (batch 1): images drawn
    without replacement from ``image_files`` (cycling through a new random order when more
    crops than images are asked for), rescaled as the test pipeline does, randomly cropped
    and normalised as the graph expects. Crops are made on demand, so hundreds of them need
    no memory.

    Args:
        image_files (sequence[str]): Images to draw from (e.g. a training split).
        num_images (int): Number of calibration crops.
        shape (tuple[int, int]): Input (H, W) of the graph.
        preprocessing (dict): From :func:`graph_preprocessing`.
        resize_scale (tuple[int, int], optional): (W, H) of the test pipeline's keep-ratio
            resize (:func:`pipeline_resize_scale`). Default: None (no resize).
        input_name (str): Name of the graph's input. Default: 'img'.
        seed (int): Seed of the draw and the crops. Default: 0.
    """

    def __init__(self, image_files: Sequence[str], num_images: int, shape: Tuple[int, int],
                 preprocessing: dict, resize_scale: Optional[Tuple[int, int]] = None,
                 input_name: str = 'img', seed: int = 0):
        if not image_files:
            raise ValueError('calibration needs at least one image')
        if num_images < 1:
            raise ValueError(f'num_images must be >= 1, got {num_images}')
        self.shape = tuple(shape)
        self.preprocessing = preprocessing
        self.resize_scale = resize_scale
        self.input_name = input_name
        rng = np.random.default_rng(seed)
        order = []
        while len(order) < num_images:
            order += [image_files[i] for i in rng.permutation(len(image_files))]
        self.files = order[:num_images]
        self.seed = seed
        self.set_range(0, num_images)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Give crops ``start_index .. end_index - 1`` next (ONNX Runtime's strided
        calibration, which keeps only one range's intermediate outputs in memory)."""
        self._next, self._end = start_index, min(end_index, len(self.files))

    def rewind(self) -> None:
        """Start again from the first crop (the same crops as before)."""
        self.set_range(0, len(self.files))

    def crop(self, index: int) -> np.ndarray:
        """The normalised ``(1, 3, H, W)`` calibration input number ``index`` (the same
        crop for the same index and seed)."""
        img = rescale_like_test_pipeline(read_image(self.files[index]), self.resize_scale)
        rng = np.random.default_rng([self.seed, index])
        return normalise(random_crop(img, self.shape, rng), self.preprocessing)[None]

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        if self._next >= self._end:
            return None
        self._next += 1
        return {self.input_name: self.crop(self._next - 1)}

    def __len__(self) -> int:
        return len(self.files)


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
    from .deploy import import_backend
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
    from .deploy import import_backend
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


def confusion_matrix(pred: np.ndarray, label: np.ndarray, num_classes: int,
                     ignore_index: int = 255) -> np.ndarray:
    """``(num_classes, num_classes)`` pixel counts, rows = ground truth, columns = prediction.

    Pixels labelled ``ignore_index`` are skipped (as the toolbox's ``IoUMetric`` does).

    Raises:
        ValueError: If the shapes differ or a label or prediction is out of range.
    """
    pred, label = np.asarray(pred), np.asarray(label)
    if pred.shape != label.shape:
        raise ValueError(f'prediction {pred.shape} and label {label.shape} shapes differ')
    keep = label != ignore_index
    pred, label = pred[keep].astype(np.int64), label[keep].astype(np.int64)
    for name, values in (('label', label), ('prediction', pred)):
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f'{name} values must be in [0, {num_classes}) or '
                             f'{ignore_index} (ignored), got {values.min()}..{values.max()}')
    counts = np.bincount(label * num_classes + pred, minlength=num_classes ** 2)
    return counts.reshape(num_classes, num_classes)


def segmentation_metrics(confusion: np.ndarray) -> dict:
    """aAcc, mIoU and per-class IoU from a confusion matrix, as ``IoUMetric`` defines them.

    IoU of a class = intersection / union = ``C[i, i] / (row_i + column_i - C[i, i])``; a
    class absent from both labels and predictions has no IoU (NaN) and is left out of the
    mean (``np.nanmean``); aAcc = correct pixels / labelled pixels. Fractions, not percent.
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    intersect = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - intersect
    with np.errstate(divide='ignore', invalid='ignore'):
        iou = intersect / union
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', RuntimeWarning)  # all-NaN: no labelled pixels
        miou = float(np.nanmean(iou))
    total = confusion.sum()
    return dict(aAcc=float(intersect.sum() / total) if total else float('nan'), mIoU=miou,
                IoU=iou.tolist())


def paired_label_files(image_files: Sequence[str], ann_dir: str, img_suffix: str = '.png',
                       seg_map_suffix: str = '.png') -> List[str]:
    """The label file of each image: same name in ``ann_dir``, suffix swapped.

    Raises:
        FileNotFoundError: Naming the first image without a label file.
    """
    labels = []
    for path in image_files:
        name = osp.basename(path)
        stem = name[:-len(img_suffix)] if name.endswith(img_suffix) else osp.splitext(name)[0]
        label = osp.join(ann_dir, stem + seg_map_suffix)
        if not osp.isfile(label):
            raise FileNotFoundError(f'no label file {label} for image {path}')
        labels.append(label)
    return labels


def read_label(path: str, label_map: Optional[Dict[int, int]] = None) -> np.ndarray:
    """A label map as the toolbox loads it (pillow, unchanged) with ``label_map`` applied."""
    import mmcv
    with open(path, 'rb') as f:
        label = mmcv.imfrombytes(f.read(), flag='unchanged', backend='pillow')
    label = np.asarray(label).astype(np.int64)
    if label_map:
        mapped = label.copy()
        for old, new in label_map.items():
            mapped[label == old] = new
        label = mapped
    return label


def evaluate_folder(model: Callable[[np.ndarray], np.ndarray],
                    image_files: Sequence[str],
                    label_files: Sequence[str],
                    num_classes: int,
                    preprocessing: dict,
                    resize_scale: Optional[Tuple[int, int]] = None,
                    label_map: Optional[Dict[int, int]] = None,
                    ignore_index: int = 255,
                    progress: bool = False) -> dict:
    """mIoU of a logits function on labelled images, the toolbox's whole-image way.

    Each image is rescaled as the test pipeline does, normalised, run at batch 1; the logits
    are resized bilinearly to the original size (as the toolbox's ``postprocess_result``
    does) and their argmax is compared with the label map.

    Args:
        model (callable): ``(1, 3, H, W)`` float32 -> ``(1, C, H, W)`` logits (a
            :class:`lrseg_mm.apis.deploy.DeployedModel`).
        image_files, label_files (sequence[str]): Paired images and label maps.
        num_classes (int): Number of classes.
        preprocessing (dict): From :func:`graph_preprocessing`.
        resize_scale (tuple[int, int], optional): (W, H) of the test pipeline's keep-ratio
            resize. Default: None.
        label_map (dict, optional): Label value changes (e.g. CamVid's void 11 -> 255).
        ignore_index (int): Label value skipped. Default: 255.
        progress (bool): Show a progress bar. Default: False.

    Returns:
        dict: :func:`segmentation_metrics` plus ``confusion`` (list of lists) and
        ``images``.
    """
    import torch
    import torch.nn.functional as F
    from tqdm import tqdm

    if len(image_files) != len(label_files) or not image_files:
        raise ValueError(f'need equally many images and labels, at least one; got '
                         f'{len(image_files)} and {len(label_files)}')
    confusion = np.zeros((num_classes, num_classes), dtype=np.int64)
    for img_path, label_path in tqdm(list(zip(image_files, label_files)), disable=not progress,
                                     desc='evaluating', dynamic_ncols=True):
        img = read_image(img_path)
        label = read_label(label_path, label_map)
        if label.shape != img.shape[:2]:
            raise ValueError(f'{label_path} is {label.shape}, its image {img.shape[:2]}')
        logits = model(normalise(rescale_like_test_pipeline(img, resize_scale),
                                 preprocessing)[None])
        logits = torch.from_numpy(np.asarray(logits))
        if tuple(logits.shape[2:]) != label.shape:
            logits = F.interpolate(logits, size=label.shape, mode='bilinear',
                                   align_corners=False)
        if logits.shape[1] != num_classes:
            raise ValueError(f'the model gives {logits.shape[1]} classes, expected '
                             f'{num_classes}')
        pred = logits[0].argmax(0).numpy()
        confusion += confusion_matrix(pred, label, num_classes, ignore_index)
    result = segmentation_metrics(confusion)
    result.update(confusion=confusion.tolist(), images=len(image_files))
    return result
