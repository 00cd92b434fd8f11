"""ONNX export of a segmentor's whole-image inference.

The graph is ``EncoderDecoder.encode_decode``: a *normalised* batch ``(N, 3, H, W)`` in,
logits ``(N, num_classes, H, W)`` out. The preprocessing is recorded in the file's
metadata (:mod:`lrseg_mm.deploy.metadata`); :class:`lrseg_mm.deploy.BackendSegmentor` puts
the toolbox's preprocessing, sliding windows and resizing back around a graph. The
TorchScript exporter (``dynamo=False``) needs no extra packages and records shape
arithmetic, so a dynamic export follows the input's size.
"""
import hashlib
import os
import os.path as osp
import tempfile
import warnings
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn

from .metadata import preprocessing_metadata

INPUT_NAME = 'img'
OUTPUT_NAME = 'seg_logits'


class SegmentorForExport(nn.Module):
    """The traceable inference function of an ``EncoderDecoder``-style segmentor:
    ``encode_decode`` with the input's size as ``img_shape`` (a ``torch.Size``, which a
    tracer records as a function of the input), so logits come back at the input size.

    Args:
        segmentor (nn.Module): An eval-mode segmentor with ``encode_decode``.
    """

    def __init__(self, segmentor: nn.Module):
        super().__init__()
        if not hasattr(segmentor, 'encode_decode'):
            raise TypeError(f'{type(segmentor).__name__} has no encode_decode; only '
                            'EncoderDecoder-style segmentors can be exported')
        self.segmentor = segmentor

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.segmentor.encode_decode(img, [dict(img_shape=img.shape[2:])])


def check_shape(shape: Sequence[int]) -> Tuple[int, int]:
    """``shape`` as ``(H, W)`` ints; ValueError unless it is two positive numbers."""
    if len(shape) != 2 or min(shape) < 1:
        raise ValueError(f'shape must be two positive ints (H, W), got {tuple(shape)}')
    return int(shape[0]), int(shape[1])


def random_images(batch_size: int, shape: Tuple[int, int], seed: int = 0) -> torch.Tensor:
    """Standard normal images ``(N, 3, H, W)``, the same for the same arguments."""
    return torch.randn(batch_size, 3, *check_shape(shape),
                       generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def calibrate_untrained(segmentor: nn.Module, shape: Tuple[int, int],
                        logit_std: Optional[float] = 1.0) -> nn.Module:
    """Give an untrained segmentor the activation scales of a trained one (in place), for
    parity checks without a checkpoint (fresh BNs give near-constant or huge logits): every
    BN's statistics come from two batches of two random images (seed 0) and
    ``decode_head.conv_seg`` is scaled to logits of std ``logit_std`` on the first.

    Args:
        segmentor (nn.Module): The segmentor (returned, in eval mode).
        shape (tuple[int, int]): Height and width of the random images.
        logit_std (float, optional): Target std of the logits; None leaves the classifier
            as it is. Default: 1.0.
    """
    h, w = check_shape(shape)
    segmentor.eval()
    norms = [m for m in segmentor.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative moving average over the batches
        norm.train()
    device = next(segmentor.parameters()).device
    gen = torch.Generator().manual_seed(0)
    images = [torch.randn(2, 3, h, w, generator=gen).to(device) for _ in range(2)]
    forward = SegmentorForExport(segmentor)
    for img in images:
        forward(img)
    segmentor.eval()
    classifier = getattr(getattr(segmentor, 'decode_head', None), 'conv_seg', None)
    if logit_std is not None and isinstance(classifier, nn.Conv2d):
        std = float(forward(images[0]).std())
        for param in (classifier.weight, classifier.bias) if std > 0 else ():
            if param is not None:
                param.mul_(logit_std / std)
    return segmentor


def export_onnx(segmentor: nn.Module, out_file: str, shape: Tuple[int, int], dynamic: bool = False,
                batch_size: int = 1, opset_version: int = 17) -> str:
    """Export a segmentor's whole-image inference to an ONNX file.

    Args:
        segmentor (nn.Module): The segmentor (see :func:`lrseg_mm.apis.load_segmentor`).
        out_file (str): Path of the ``.onnx`` file to write (returned).
        shape (tuple[int, int]): Input height and width used for tracing.
        dynamic (bool): Make batch, height and width dynamic axes. Default: False.
        batch_size (int): Batch size used for tracing. Default: 1.
        opset_version (int): ONNX opset. Default: 17.
    """
    import onnx

    segmentor.eval()
    dummy = random_images(batch_size, shape).to(next(segmentor.parameters()).device)
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    dynamic_axes = {INPUT_NAME: axes, OUTPUT_NAME: axes} if dynamic else None
    os.makedirs(osp.dirname(osp.abspath(out_file)), exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        # channel-count checks trace to constants, as intended
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        warnings.filterwarnings('ignore', message='.*legacy TorchScript-based ONNX export')
        # the exporter restores the wrapper's mode recursively: a fresh one's is training
        torch.onnx.export(SegmentorForExport(segmentor).eval(), (dummy, ), out_file,
                          dynamo=False, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          dynamic_axes=dynamic_axes, opset_version=opset_version)
    model_proto = onnx.load(out_file)
    onnx.checker.check_model(model_proto)
    for key, value in preprocessing_metadata(segmentor).items():
        model_proto.metadata_props.add(key=key, value=value)
    onnx.save(model_proto, out_file)
    return out_file


def cached_export(segmentor: nn.Module, shape: Tuple[int, int], batch_size: int = 1,
                  cache_dir: Optional[str] = None, name: str = 'model') -> str:
    """The path of ``segmentor``'s static export, made once per model, shape and weights.

    Args:
        segmentor (nn.Module): The segmentor (eval mode).
        shape (tuple[int, int]): Input (H, W) of the static graph.
        batch_size (int): Batch size of the static graph. Default: 1.
        cache_dir (str, optional): Folder of the files. Default: a temporary folder's.
        name (str): File name prefix. Default: 'model'.
    """
    h, w = check_shape(shape)
    digest = hashlib.sha1(f'{type(segmentor).__name__} {batch_size} {h} {w}'.encode())
    for key, value in segmentor.state_dict().items():
        digest.update(key.encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    cache_dir = cache_dir or osp.join(tempfile.gettempdir(), 'lrseg_mm_onnx')
    path = osp.join(cache_dir, f'{name}-b{batch_size}-{h}x{w}-{digest.hexdigest()[:12]}.onnx')
    if not osp.isfile(path):
        os.makedirs(cache_dir, exist_ok=True)
        partial = f'{path}.{os.getpid()}.tmp'
        export_onnx(segmentor, partial, (h, w), dynamic=False, batch_size=batch_size)
        os.replace(partial, path)  # never leave a half-written file under the final name
    return path
