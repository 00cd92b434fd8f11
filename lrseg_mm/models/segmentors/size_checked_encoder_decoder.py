from typing import List, Sequence, Union

import torch
from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class SizeCheckedEncoderDecoder(EncoderDecoder):
    """The toolbox's ``EncoderDecoder`` that refuses inputs smaller than the model's minimum.

    Below the output stride of the deepest feature map a model uses, that map is a single
    cell computed mostly from zero padding and the prediction is meaningless, although
    nothing fails (every model here runs down to 1x1 pixels). Such an input raises a
    ``ValueError`` that states the minimum, in every mode (loss, predict, tensor, and per
    crop in slide inference), because every path goes through :meth:`extract_feat`.

    The check sits in the segmentor because it is the only module that sees the input in all
    families: the heads only see features, whose sizes do not determine the input's (31 and
    32 pixels give the same ResNet feature sizes), and two families use the toolbox's ResNet
    as their backbone. The minimum of each family is in its base model config: 8 for LRNNet
    (three stride-2 stages), 32 for the ResNet and MobileNet-v2 models (stride 32).

    The check is skipped while tracing or compiling (ONNX export), where sizes are symbolic.

    Args:
        min_input_size (int | Sequence[int]): Smallest input (H, W), or one int for both.
        **kwargs: :class:`EncoderDecoder` arguments (``backbone``, ``decode_head``, ...).
    """

    def __init__(self, min_input_size: Union[int, Sequence[int]], **kwargs):
        super().__init__(**kwargs)
        if isinstance(min_input_size, int):
            min_input_size = (min_input_size, min_input_size)
        min_input_size = tuple(min_input_size)
        if len(min_input_size) != 2 or min(min_input_size) < 1:
            raise ValueError('min_input_size must be a positive int or (H, W) pair, got '
                             f'{min_input_size}')
        self.min_input_size = min_input_size

    def extract_feat(self, inputs: Tensor) -> List[Tensor]:
        if not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export()
                or torch.compiler.is_compiling()):
            self.check_input_size(inputs)
        return super().extract_feat(inputs)

    def check_input_size(self, inputs: Tensor) -> None:
        """Raise ``ValueError`` if ``inputs`` (N, C, H, W) is below :attr:`min_input_size`."""
        h, w = inputs.shape[-2:]
        min_h, min_w = self.min_input_size
        if h < min_h or w < min_w:
            raise ValueError(
                f'{type(self.backbone).__name__} + {type(self.decode_head).__name__} needs '
                f'inputs of at least {min_h}x{min_w} pixels (the output stride of its '
                f'deepest feature map), got {h}x{w}; resize or pad the image')
