"""Measuring segmentors (MACs, latency, conv-BN folding); converting official checkpoints."""
from .flops import MacReport, count_macs, count_parameters, format_count
from .fuse import fuse_conv_bn, fuse_conv_bn_pair
from .state_dict_conversion import (apply_key_mapping, check_keys, count_blocks, resolve_arch,
                                    run_converter_cli, unwrap_state_dict)
from .timing import (MODES, InferenceRunner, RoundRobinTimes, cpu_model_name,
                     device_description, latency_stats, paired_ratio, round_robin,
                     toolbox_fps)

__all__ = [
    'MODES', 'InferenceRunner', 'MacReport', 'RoundRobinTimes', 'apply_key_mapping',
    'check_keys', 'count_blocks', 'count_macs', 'count_parameters', 'cpu_model_name',
    'device_description', 'format_count', 'fuse_conv_bn', 'fuse_conv_bn_pair',
    'latency_stats', 'paired_ratio', 'resolve_arch', 'round_robin', 'run_converter_cli',
    'toolbox_fps', 'unwrap_state_dict'
]
