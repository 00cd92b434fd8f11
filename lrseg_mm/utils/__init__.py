"""Measuring segmentors: multiply-adds, latency, conv-BN folding (tools/benchmark.py,
tools/get_flops.py, benchmarks/) and converting official checkpoints
(tools/model_converters). Models are built with :func:`lrseg_mm.apis.load_segmentor`."""
from .benchmark import MODES, InferenceRunner
from .flops import MacReport, count_macs, count_macs_dispatch, count_parameters, format_count
from .fuse import fuse_conv_bn, fuse_conv_bn_pair
from .state_dict_conversion import (apply_key_mapping, check_keys, count_blocks, resolve_arch,
                                    run_converter_cli, unwrap_state_dict)
from .timing import (RoundRobinTimes, cpu_model_name, device_description, fps_from_latency,
                     latency_stats, paired_ratio, round_robin, toolbox_fps)

__all__ = [
    'MODES', 'InferenceRunner', 'MacReport', 'RoundRobinTimes',
    'apply_key_mapping', 'check_keys', 'count_blocks', 'count_macs', 'count_macs_dispatch',
    'count_parameters', 'cpu_model_name', 'device_description', 'format_count',
    'fps_from_latency', 'fuse_conv_bn', 'fuse_conv_bn_pair', 'latency_stats', 'paired_ratio',
    'resolve_arch', 'round_robin', 'run_converter_cli', 'toolbox_fps', 'unwrap_state_dict'
]
