"""Inference utilities: building models from configs, counting MACs, timing, BN folding."""
from .benchmark import (MODES, InferenceRunner, LatencyStats, fps_from_latency, latency_stats,
                        measure, parse_toolbox_fps, peak_cpu_memory, peak_cuda_memory,
                        toolbox_fps)
from .builder import (build_segmentor_from_config, load_config, replace_sync_bn,
                      strip_pretrained)
from .flops import MacReport, count_macs, count_macs_dispatch, count_parameters, format_count
from .fuse import fuse_conv_bn, fuse_conv_bn_pair

__all__ = [
    'MODES', 'InferenceRunner', 'LatencyStats', 'MacReport', 'build_segmentor_from_config',
    'count_macs', 'count_macs_dispatch', 'count_parameters', 'format_count',
    'fps_from_latency', 'fuse_conv_bn', 'fuse_conv_bn_pair', 'latency_stats', 'load_config',
    'measure', 'parse_toolbox_fps', 'peak_cpu_memory', 'peak_cuda_memory', 'replace_sync_bn',
    'strip_pretrained', 'toolbox_fps'
]
