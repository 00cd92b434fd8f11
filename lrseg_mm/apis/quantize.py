"""Moved to :mod:`lrseg_mm.deploy.quantize`; kept while callers move there."""
from lrseg_mm.deploy.quantize import quantize_int8, quantize_int8_openvino  # noqa: F401
