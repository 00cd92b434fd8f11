"""ONNX export of a segmentor and an onnxruntime parity check.

What is exported: the segmentor's whole-image inference, ``EncoderDecoder.encode_decode``,
i.e. backbone (+ neck) + decode head + bilinear resize of the logits to the input size. The
graph takes a *normalised* image batch ``(N, 3, H, W)`` (the data preprocessor's mean/std
and channel order are applied by the caller; they are stored in the file's metadata) and
returns logits ``(N, num_classes, H, W)``; the label map is their argmax over dim 1.
Sliding-window inference, test-time augmentation and the preprocessing itself are not part
of the graph.

The TorchScript-based exporter (``torch.onnx.export(..., dynamo=False)``) is used: it needs
no extra packages and records shape arithmetic, so a dynamic export follows the input's
height and width (the SVN power iteration has a fixed number of steps and its region indices
are built from tensor ops while tracing; see :func:`lrseg_mm.models.utils.region_matrices`).
"""
import json
import os
import os.path as osp
import warnings
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

INPUT_NAME = 'img'
OUTPUT_NAME = 'seg_logits'


class SegmentorForExport(nn.Module):
    """The traceable inference function of an ``EncoderDecoder``-style segmentor.

    ``forward(img)`` equals ``segmentor.encode_decode(img, metas)`` with metas whose image
    shape is the input's, so the logits come back at the input size. The size is passed as
    ``img.shape[2:]`` (a ``torch.Size``, which mmseg's ``predict_by_feat`` uses as is), so
    a tracer records it as a function of the input rather than a constant.

    Args:
        segmentor (nn.Module): A built segmentor with ``encode_decode`` (EncoderDecoder,
            CascadeEncoderDecoder), in eval mode.
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        if not hasattr(segmentor, 'encode_decode'):
            raise TypeError(f'{type(segmentor).__name__} has no encode_decode; only '
                            'EncoderDecoder-style segmentors can be exported')
        self.segmentor = segmentor

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.segmentor.encode_decode(img, [dict(img_shape=img.shape[2:])])


def preprocessing_metadata(segmentor: nn.Module) -> dict:
    """What the caller must do to an image before the graph: channel order, mean, std."""
    meta = {}
    preprocessor = getattr(segmentor, 'data_preprocessor', None)
    if preprocessor is not None:
        meta['input_channel_order'] = 'rgb' if getattr(preprocessor, 'channel_conversion',
                                                       False) else 'bgr'
        if getattr(preprocessor, '_enable_normalize', False):
            meta['mean'] = json.dumps(preprocessor.mean.flatten().tolist())
            meta['std'] = json.dumps(preprocessor.std.flatten().tolist())
    dataset_meta = getattr(segmentor, 'dataset_meta', None) or {}
    if dataset_meta.get('classes'):
        meta['classes'] = json.dumps(list(dataset_meta['classes']))
    meta['output'] = 'logits (N, num_classes, H, W); labels = argmax over dim 1'
    return meta


@torch.no_grad()
def calibrate_untrained(segmentor: nn.Module,
                        shape: Tuple[int, int],
                        num_batches: int = 2,
                        batch_size: int = 2,
                        logit_std: Optional[float] = 1.0,
                        seed: int = 0) -> nn.Module:
    """Give an untrained segmentor the activation scales of a trained one (in place).

    For checks without a checkpoint. Freshly built BNs are identities, so activations drift
    in scale through a deep network and the logits come out nearly constant or huge; a
    parity check on them proves little (a graph with a wrong size-dependent op can even
    pass) or fails on float32 rounding alone. Here every BN's running statistics are set
    from random normal images, as training would set them, and the classifier
    (``decode_head.conv_seg``) is scaled so the logits have standard deviation
    ``logit_std``. Only the BN layers run in training mode (cumulative averages); heads and
    dropout stay in eval mode.

    Args:
        segmentor (nn.Module): The segmentor; left in eval mode.
        shape (tuple[int, int]): Height and width of the random images.
        num_batches (int): Batches the statistics average over. Default: 2.
        batch_size (int): Images per batch. Default: 2.
        logit_std (float, optional): Target standard deviation of the logits; None leaves
            the classifier as it is. Default: 1.0.
        seed (int): Seed of the random images. Default: 0.

    Returns:
        nn.Module: ``segmentor``.
    """
    h, w = _check_shape(shape)
    segmentor.eval()
    norms = [m for m in segmentor.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average over the batches
        norm.train()
    device = next(segmentor.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    images = [torch.randn(batch_size, 3, h, w, generator=gen).to(device)
              for _ in range(num_batches)]
    forward = SegmentorForExport(segmentor)
    for img in images:
        forward(img)
    for norm in norms:
        norm.eval()
    classifier = getattr(getattr(segmentor, 'decode_head', None), 'conv_seg', None)
    if logit_std is not None and isinstance(classifier, nn.Conv2d):
        std = float(forward(images[0]).std())
        if std > 0:
            classifier.weight.mul_(logit_std / std)
            if classifier.bias is not None:
                classifier.bias.mul_(logit_std / std)
    return segmentor


def export_onnx(segmentor: nn.Module,
                out_file: str,
                shape: Tuple[int, int],
                dynamic: bool = False,
                batch_size: int = 1,
                opset_version: int = 17) -> str:
    """Export a segmentor's whole-image inference to an ONNX file.

    Args:
        segmentor (nn.Module): The segmentor (see
            :func:`lrseg_mm.apis.inference.load_segmentor`).
        out_file (str): Path of the ``.onnx`` file to write.
        shape (tuple[int, int]): Input height and width used for tracing.
        dynamic (bool): Make batch, height and width dynamic axes. Default: False.
        batch_size (int): Batch size used for tracing. Default: 1.
        opset_version (int): ONNX opset. Default: 17.

    Returns:
        str: ``out_file``.
    """
    import onnx

    h, w = _check_shape(shape)
    segmentor.eval()
    device = next(segmentor.parameters()).device
    dummy = torch.randn(batch_size, 3, h, w, device=device)
    dynamic_axes = None
    if dynamic:
        axes = {0: 'batch', 2: 'height', 3: 'width'}
        dynamic_axes = {INPUT_NAME: axes, OUTPUT_NAME: axes}
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        # Shape checks on static sizes (channel counts) trace to constants, which is
        # intended; whether the graph generalises is checked by running it at other sizes.
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', message='.*legacy TorchScript-based ONNX export')
        torch.onnx.export(
            # the wrapper in eval mode: the exporter restores the wrapper's mode afterwards,
            # recursively, and a fresh module's is training (it left the model training)
            SegmentorForExport(segmentor).eval(), (dummy, ), out_file, dynamo=False,
            input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
            dynamic_axes=dynamic_axes, opset_version=opset_version,
            do_constant_folding=True)
    model_proto = onnx.load(out_file)
    onnx.checker.check_model(model_proto)
    for key, value in preprocessing_metadata(segmentor).items():
        model_proto.metadata_props.add(key=key, value=value)
    onnx.save(model_proto, out_file)
    return out_file


class Parity(NamedTuple):
    """onnxruntime vs PyTorch on one input: the largest difference and the logits' scale."""
    max_abs_diff: float
    max_abs_logit: float


def onnxruntime_parity(onnx_file: str,
                       segmentor: nn.Module,
                       shape: Tuple[int, int],
                       batch_size: int = 1,
                       seed: int = 0) -> Parity:
    """Compare onnxruntime's logits with PyTorch's on a random normal input.

    Both run on the same input of the given shape (onnxruntime on its CPU provider).

    Args:
        onnx_file (str): The exported model.
        segmentor (nn.Module): The PyTorch segmentor it was exported from.
        shape (tuple[int, int]): Input height and width.
        batch_size (int): Batch size. Default: 1.
        seed (int): Seed of the random input. Default: 0.

    Returns:
        Parity: ``max |onnx - torch|`` over all logits, and ``max |torch|`` for scale.
    """
    import onnxruntime as ort

    h, w = _check_shape(shape)
    img = _random_images(batch_size, (h, w), seed)
    segmentor.eval()
    device = next(segmentor.parameters()).device
    with torch.no_grad():
        expected = SegmentorForExport(segmentor)(img.to(device)).cpu().numpy()
    session = ort.InferenceSession(onnx_file, providers=['CPUExecutionProvider'])
    actual = session.run([OUTPUT_NAME], {INPUT_NAME: img.numpy()})[0]
    if actual.shape != expected.shape:
        raise RuntimeError(f'onnxruntime gave logits of shape {actual.shape}, PyTorch '
                           f'{expected.shape}, for a {h}x{w} input')
    return Parity(float(np.abs(actual - expected).max()), float(np.abs(expected).max()))


def float32_rounding_error(segmentor: nn.Module,
                           shape: Tuple[int, int],
                           batch_size: int = 1,
                           seed: int = 0) -> float:
    """Largest difference between PyTorch's float32 logits and float64 ones (same input).

    The scale of float32 rounding in this network: an onnxruntime difference of the same
    order is rounding, not an export error. Uses the input of :func:`onnxruntime_parity`
    with the same seed.
    """
    import copy

    img = _random_images(batch_size, _check_shape(shape), seed)
    segmentor.eval()
    device = next(segmentor.parameters()).device
    exact = copy.deepcopy(segmentor).double()
    with torch.no_grad():
        single = SegmentorForExport(segmentor)(img.to(device)).double()
        double = SegmentorForExport(exact)(img.to(device).double())
    return float((single - double).abs().max())


def _random_images(batch_size: int, shape: Tuple[int, int], seed: int) -> torch.Tensor:
    """Standard normal images, the same for the same arguments."""
    return torch.randn(batch_size, 3, *shape, generator=torch.Generator().manual_seed(seed))


def _check_shape(shape: Sequence[int]) -> Tuple[int, int]:
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f'shape must be two positive ints (H, W), got {tuple(shape)}')
    return int(shape[0]), int(shape[1])
