"""lrseg_mm.evaluation.ClassIoUMetric: IoUMetric's summary plus per-class results and the
confusion matrix, checked by hand."""
import numpy as np
import pytest
import torch
from mmseg.evaluation import IoUMetric
from mmseg.registry import METRICS

CLASSES = ('a', 'b', 'c', 'd')


def _samples(pairs):
    return [dict(pred_sem_seg=dict(data=torch.tensor(pred)[None]),
                 gt_sem_seg=dict(data=torch.tensor(label)[None])) for pred, label in pairs]


# two tiny images; 255 is ignored; class d is in neither predictions nor labels
PAIRS = [([[0, 0, 1], [1, 2, 2]], [[0, 1, 1], [1, 2, 255]]),
         ([[2, 0], [0, 1]], [[2, 0], [1, 255]])]


def _evaluate(metric):
    metric.dataset_meta = dict(classes=CLASSES)
    metric.process({}, _samples(PAIRS))
    return metric.evaluate(len(PAIRS))


def test_per_class_results_and_confusion_by_hand():
    metric = METRICS.build(dict(type='ClassIoUMetric'))
    result = _evaluate(metric)
    # kept pixels (truth, prediction): image 1: (0,0) (1,0) (1,1) (1,1) (2,2);
    # image 2: (2,2) (0,0) (1,0)
    confusion = np.array(result['confusion'])
    assert confusion.tolist() == [[2, 0, 0, 0], [2, 2, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    # IoU = diagonal / (row + column - diagonal); Acc = diagonal / row
    assert result['IoU'] == dict(a=50.0, b=50.0, c=100.0, d=None)
    assert result['Acc'] == dict(a=100.0, b=50.0, c=100.0, d=None)
    assert result['mIoU'] == pytest.approx((50 + 50 + 100) / 3, abs=0.005)
    assert result['aAcc'] == pytest.approx(100 * 6 / 8)


def test_summary_equals_iou_metrics():
    ours = _evaluate(METRICS.build(dict(type='ClassIoUMetric')))
    toolbox = _evaluate(IoUMetric())
    assert set(toolbox) == {'aAcc', 'mIoU', 'mAcc'}
    assert {k: ours[k] for k in toolbox} == toolbox


def test_labels_outside_the_classes_are_not_counted():
    from lrseg_mm.evaluation import ClassIoUMetric
    pred, label = torch.tensor([0, 1, 1, 0]), torch.tensor([0, 1, 7, 255])
    counts = ClassIoUMetric.confusion_matrix(pred, label, num_classes=2, ignore_index=255)
    assert counts.tolist() == [[1, 0], [0, 1]]
