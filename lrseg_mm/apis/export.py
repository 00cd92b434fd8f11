"""Moved to :mod:`lrseg_mm.deploy.export`; kept while callers move there."""
from lrseg_mm.deploy.export import (INPUT_NAME, OUTPUT_NAME, SegmentorForExport,  # noqa: F401
                                    calibrate_untrained, export_onnx)
