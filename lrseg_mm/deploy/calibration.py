"""Calibration inputs for INT8 quantisation: crops of real images, preprocessed as the
config's test pipeline and the model's data preprocessor do."""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.transforms import Compose

from .export import INPUT_NAME, check_shape


class ImageFolderCalibrationReader:
    """Calibration inputs for ONNX Runtime's ``quantize_static`` (its
    ``CalibrationDataReader`` interface) and, iterated, for NNCF's ``quantize``.

    ``num_images`` crops of the graph's input size, batch 1, made on demand: images drawn
    without replacement from ``image_files`` (cycling when more crops are asked for), put
    through ``pipeline`` (e.g. a :func:`lrseg_mm.apis.load_segmentor` model's
    ``cfg.test_pipeline``) and ``data_preprocessor``, then cropped at random (an image
    smaller than the crop is resized to it).

    Args:
        image_files (sequence[str]): Images to draw from (e.g. a training split).
        num_images (int): Number of calibration crops.
        shape (tuple[int, int]): Input (H, W) of the graph.
        pipeline (sequence[dict] | Compose): Transforms from an image path to packed inputs.
        data_preprocessor (nn.Module): The segmentor's ``data_preprocessor``.
        seed (int): Seed of the draw and the crops. Default: 0.
    """

    def __init__(self, image_files: Sequence[str], num_images: int, shape: Tuple[int, int],
                 pipeline, data_preprocessor: nn.Module, seed: int = 0):
        if not image_files:
            raise ValueError('calibration needs at least one image')
        if num_images < 1:
            raise ValueError(f'num_images must be >= 1, got {num_images}')
        self.shape = check_shape(shape)
        self.pipeline = pipeline if isinstance(pipeline, Compose) else Compose(pipeline)
        self.data_preprocessor = data_preprocessor
        rng = np.random.default_rng(seed)
        order = []
        while len(order) < num_images:
            order += [image_files[i] for i in rng.permutation(len(image_files))]
        self.files = order[:num_images]
        self.seed = seed
        self.set_range(0, num_images)

    def set_range(self, start_index: int, end_index: int) -> None:
        """Give crops ``start_index .. end_index - 1`` next (ONNX Runtime's strided
        calibration)."""
        self._next, self._end = start_index, min(end_index, len(self.files))

    def rewind(self) -> None:
        """Start again from the first crop (the same crops as before)."""
        self.set_range(0, len(self.files))

    @torch.no_grad()
    def crop(self, index: int) -> np.ndarray:
        """The preprocessed ``(1, 3, H, W)`` float32 crop number ``index`` (the same for the
        same index and seed)."""
        data = self.pipeline(dict(img_path=self.files[index]))
        img = self.data_preprocessor(dict(inputs=[data['inputs']],
                                          data_samples=[data['data_samples']]))['inputs']
        img = img.float().cpu()
        (h, w), (img_h, img_w) = self.shape, img.shape[2:]
        if img_h < h or img_w < w:
            return F.interpolate(img, (h, w), mode='bilinear', align_corners=False).numpy()
        rng = np.random.default_rng([self.seed, index])
        top, left = int(rng.integers(0, img_h - h + 1)), int(rng.integers(0, img_w - w + 1))
        return np.ascontiguousarray(img[:, :, top:top + h, left:left + w].numpy())

    def get_next(self) -> Optional[Dict[str, np.ndarray]]:
        """The next crop as ``{INPUT_NAME: crop}``; None after the last."""
        if self._next >= self._end:
            return None
        self._next += 1
        return {INPUT_NAME: self.crop(self._next - 1)}

    def __iter__(self):
        """Every crop from the first, once per iteration (NNCF goes through them twice)."""
        self.rewind()
        return iter(self.get_next, None)

    def __len__(self) -> int:
        return len(self.files)
