"""Evaluation extensions: a metric with per-class results and the confusion matrix, and a
hook that summarises the SVN block's attention during a test run."""
from .class_iou_metric import ClassIoUMetric
from .svn_diagnostics_hook import SVNDiagnosticsHook

__all__ = ['ClassIoUMetric', 'SVNDiagnosticsHook']
