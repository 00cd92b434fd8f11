from typing import Optional

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS


def _describe(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return f'{type(error).__name__}: {lines[0] if lines else ""}'.rstrip(': ')


@TRANSFORMS.register_module()
class StrictLoadImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` whose errors always name the image file and the problem.

    mmcv reports most unreadable images as ``failed to load image: <path>`` (an assertion),
    but an empty file as an OpenCV error without the path. Here a missing file raises
    ``FileNotFoundError`` and any file that does not decode a ``ValueError``, both naming
    it. Arguments are those of ``LoadImageFromFile``; with ``ignore_empty=True`` an
    unreadable image still gives None (the dataset then draws another sample).
    """

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            out = super().transform(results)
        except FileNotFoundError:
            raise FileNotFoundError(f'image file {path} is missing') from None
        except Exception as error:  # decoders raise many types on bad data
            raise ValueError(f'image file {path} cannot be decoded, it is corrupt or not an '
                             f'image ({_describe(error)})') from None
        return out


@TRANSFORMS.register_module()
class StrictLoadAnnotations(LoadAnnotations):
    """The toolbox's ``LoadAnnotations`` that fails loudly, naming the file, on a bad label.

    mmseg's transform casts whatever it decodes to uint8 (a 16-bit id of 256 becomes 0), does
    not name the file when decoding fails, and passes ids outside the class range through to
    the loss (an IndexError with no file name on CPU, a device-side assert on GPU) and to the
    metric (which silently drops them). This transform raises instead:

    * ``FileNotFoundError`` when the label file is missing,
    * ``ValueError`` when it is not a decodable image (corrupt, truncated, empty), has more
      than one channel, holds values above 255, or, after ``reduce_zero_label`` and the
      dataset's ``label_map``, holds an id ``>= num_classes`` other than ``ignore_index``.

    Every message names the label file and its image. The error is raised where the sample is
    loaded, i.e. at the first iteration that touches it; dataloader workers pass it on to the
    main process, which stops (and ``torchrun`` stops the other ranks).

    Args:
        num_classes (int | None): Number of classes; ids ``0 .. num_classes - 1`` and
            ``ignore_index`` are valid. None skips the range check. Default: None.
        ignore_index (int): The ignored id. Default: 255.
        reduce_zero_label (bool | None): As for ``LoadAnnotations``. Default: None (the
            dataset's setting).
        imdecode_backend (str): Decoder of the label file. Default: 'pillow'.
        backend_args (dict | None): File backend arguments. Default: None.
    """

    def __init__(self,
                 num_classes: Optional[int] = None,
                 ignore_index: int = 255,
                 reduce_zero_label=None,
                 imdecode_backend: str = 'pillow',
                 backend_args=None):
        super().__init__(reduce_zero_label=reduce_zero_label, backend_args=backend_args,
                         imdecode_backend=imdecode_backend)
        if num_classes is not None and not 0 < num_classes <= 255:
            raise ValueError(f'StrictLoadAnnotations num_classes must be in 1..255, got '
                             f'{num_classes}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index

    def _load_seg_map(self, results: dict) -> None:
        path = results['seg_map_path']
        where = f"label file {path} (image {results.get('img_path')})"
        try:
            content = fileio.get(path, backend_args=self.backend_args)
        except FileNotFoundError:
            raise FileNotFoundError(f'{where} is missing') from None
        seg = self._decode(content, where)

        if self.reduce_zero_label is None:
            self.reduce_zero_label = results['reduce_zero_label']
        if self.reduce_zero_label != results['reduce_zero_label']:
            raise ValueError(f'StrictLoadAnnotations has reduce_zero_label='
                             f'{self.reduce_zero_label} but the dataset '
                             f"{results['reduce_zero_label']}")
        # one lookup table does reduce_zero_label (0 -> ignore, k -> k - 1) and the label map
        table = np.arange(256, dtype=np.uint8)
        if self.reduce_zero_label:
            table = np.where(table == 0, 255, table - 1).astype(np.uint8)
            table[255] = 255
        label_map = results.get('label_map')
        if label_map:
            mapped = table.copy()
            for old_id, new_id in label_map.items():
                mapped[table == old_id] = new_id
            table = mapped
        seg = table[seg]
        self._check_ids(seg, where)
        results['gt_seg_map'] = seg
        results['seg_fields'].append('gt_seg_map')

    def _decode(self, content: bytes, where: str) -> np.ndarray:
        try:
            seg = mmcv.imfrombytes(content, flag='unchanged', backend=self.imdecode_backend)
        except Exception as error:  # decoders raise many types on bad data
            raise ValueError(f'{where} cannot be decoded, it is corrupt or not an image '
                             f'({_describe(error)})') from None
        if seg is None or seg.size == 0:
            raise ValueError(f'{where} cannot be decoded, it is corrupt or not an image')
        seg = seg.squeeze()
        if seg.ndim != 2:
            raise ValueError(f'{where} has shape {seg.shape}; a label file must be a '
                             'single-channel image of class ids (not a colour-coded one)')
        if seg.dtype != np.uint8:
            if seg.min() < 0 or seg.max() > 255:
                raise ValueError(f'{where} holds values {seg.min()}..{seg.max()}; class ids '
                                 'must fit in 0..255')
            seg = seg.astype(np.uint8)
        return seg

    def _check_ids(self, seg: np.ndarray, where: str) -> None:
        if self.num_classes is None:
            return
        present = np.flatnonzero(np.bincount(seg.ravel(), minlength=256))
        bad = [int(i) for i in present if i >= self.num_classes and i != self.ignore_index]
        if bad:
            raise ValueError(
                f'{where} holds class ids {bad} outside 0..{self.num_classes - 1} (ignore '
                f'index {self.ignore_index}); is it the right label type (e.g. '
                f'*_labelTrainIds.png for Cityscapes) and num_classes={self.num_classes}?')

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, ignore_index='
                f'{self.ignore_index}, reduce_zero_label={self.reduce_zero_label}, '
                f"imdecode_backend='{self.imdecode_backend}', "
                f'backend_args={self.backend_args})')
