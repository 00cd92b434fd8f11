"""``IoUMetric`` that also returns the per-class results and the confusion matrix."""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS


@METRICS.register_module()
class ClassIoUMetric(IoUMetric):
    """The toolbox's ``IoUMetric`` plus what it only prints: per-class IoU and accuracy,
    and the confusion matrix.

    The summary (``aAcc``, ``mIoU``, ``mAcc``) and the printed per-class table are
    ``IoUMetric``'s own; the result adds, in percent like the summary (``None`` for a class
    absent from both predictions and labels):

    * ``IoU`` and ``Acc``: ``{class name: value}``;
    * ``confusion``: pixel counts, ``confusion[t][p]`` = pixels of true class ``t``
      predicted as ``p`` (ignored pixels left out).

    Select it in a config with ``test_evaluator = dict(type='ClassIoUMetric')`` (or
    ``--cfg-options test_evaluator.type=ClassIoUMetric``); the Runner's logger then dumps
    these results with the summary into ``<work_dir>/<timestamp>/<timestamp>.json``.

    Args:
        **kwargs: :class:`IoUMetric` arguments (``ignore_index``, ``iou_metrics``, ...);
            the per-class results need 'mIoU' among ``iou_metrics`` (the default).
    """

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        first = len(self.results)
        super().process(data_batch, data_samples)
        if self.format_only:
            return
        num_classes = len(self.dataset_meta['classes'])
        for k, sample in enumerate(data_samples):
            pred = sample['pred_sem_seg']['data'].squeeze()
            label = sample['gt_sem_seg']['data'].squeeze().to(pred)
            self.results[first + k] += (self.confusion_matrix(pred, label, num_classes,
                                                              self.ignore_index), )

    @staticmethod
    def confusion_matrix(pred: torch.Tensor, label: torch.Tensor, num_classes: int,
                         ignore_index: int) -> np.ndarray:
        """Pixel counts by (true class, predicted class) of one label map, ignored pixels
        (and labels outside the classes, which ``IoUMetric`` does not count either) left
        out."""
        keep = (label != ignore_index) & (label >= 0) & (label < num_classes)
        pairs = label[keep].long() * num_classes + pred[keep].long()
        counts = torch.bincount(pairs, minlength=num_classes**2)
        return counts.reshape(num_classes, num_classes).cpu().numpy()

    def compute_metrics(self, results: List[tuple]) -> Dict[str, object]:
        metrics = super().compute_metrics([r[:4] for r in results])
        if self.format_only:
            return metrics
        areas = [sum(area) for area in zip(*(r[:4] for r in results))]
        per_class = self.total_area_to_metrics(*areas, metrics=['mIoU'])
        classes = self.dataset_meta['classes']
        metrics.update(IoU=self._percent(classes, per_class['IoU']),
                       Acc=self._percent(classes, per_class['Acc']),
                       confusion=sum(r[4] for r in results).tolist())
        return metrics

    @staticmethod
    def _percent(classes: Sequence[str], values: np.ndarray) -> Dict[str, Optional[float]]:
        return OrderedDict((name, None if np.isnan(v) else round(float(v) * 100, 2))
                           for name, v in zip(classes, values))
