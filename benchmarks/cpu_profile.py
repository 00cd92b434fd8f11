"""Where LRNNet's CPU time goes, next to its peers': the profile behind the speed goals.

Two views, one process, the CPU model printed:

* **eager PyTorch**: ``torch.profiler`` self CPU time of every ATen operator while the
  ``logits`` function (network + resize to the input size, as in the peer table) runs at
  512x1024 on ``--threads`` threads, grouped into convolutions, batch norm, layout
  (concatenation, copies, channel shuffle), elementwise (activations, residual adds, the
  downsampler's maximum), resize and the rest; for each model as built and with BN folded
  into the convolutions (``lrseg_mm.utils.fuse_conv_bn`` with the peers' fusers). The
  convolutions' throughput, 2 x MACs / convolution time, says how well each model feeds
  the CPU's arithmetic.
* **OpenVINO**: its per-node performance counters for LRNNet's exported float32 graph and
  its INT8 graph, grouped the same way; and ONNX Runtime's session profiler for the float32
  graph. The INT8 kernels only speed up the convolutions
  and matrix products; ``non-conv share`` bounds the INT8/float32 latency ratio from below
  (what is left if the INT8 convolutions cost nothing).

Profiler times include the profiler's own overhead: read the shares, not the absolute ms.
Run ``python benchmarks/cpu_profile.py [--threads 1] [--write]``; ``--write`` replaces the
``cpu-profile`` block of BENCHMARKS.md.
"""
import argparse
import collections
import copy
import os.path as osp
import tempfile
import time

import numpy as np
import torch

from bench_common import PEER_FUSERS, replace_marked_block
from lrseg_mm.apis import load_segmentor
from lrseg_mm.apis.export import SegmentorForExport
from lrseg_mm.utils import count_macs, cpu_model_name, fuse_conv_bn

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BLOCK_NAME = 'cpu-profile'
SHAPE = (512, 1024)
MODELS = {
    'LRNNet': 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py',
    'ERFNet': 'mmseg::erfnet/erfnet_fcn_4xb4-160k_cityscapes-512x1024.py',
    'CGNet': 'mmseg::cgnet/cgnet_fcn_4xb8-60k_cityscapes-512x1024.py',
}
CATEGORIES = ('conv', 'batch norm', 'layout', 'elementwise', 'resize', 'other')

# ATen operators (self time) and OpenVINO node types, by category.
ATEN = {
    'conv': ('convolution', 'conv2d', 'conv_depthwise', 'addmm', 'bmm', 'mm', 'matmul'),
    'batch norm': ('batch_norm', ),
    'layout': ('cat', 'copy_', 'clone', 'channel_shuffle', 'contiguous', 'pad',
               'constant_pad'),
    'elementwise': ('add', 'relu', 'clamp', 'maximum', 'mul', 'sigmoid', 'prelu', 'div',
                    'threshold', 'hardtanh', 'softmax', 'sub', 'max_pool', 'avg_pool',
                    'adaptive_avg_pool', 'mean', 'norm'),
    'resize': ('upsample', ),
}
# ONNX Runtime's node op types (after its fusions: FusedConv = Conv + activation, NCHWc
# convolutions with their ReorderInput/ReorderOutput layout conversions).
ONNXRUNTIME = {
    'conv': ('Conv', 'FusedConv', 'QLinearConv', 'ConvInteger', 'MatMul', 'FusedMatMul',
             'Gemm', 'QLinearMatMul', 'MatMulInteger'),
    'batch norm': ('BatchNormalization', ),
    'layout': ('Concat', 'Split', 'Slice', 'Transpose', 'Reshape', 'ReorderInput',
               'ReorderOutput', 'Pad', 'Gather', 'QuantizeLinear', 'DequantizeLinear'),
    'elementwise': ('Add', 'Relu', 'Max', 'MaxPool', 'Mul', 'Div', 'Sub', 'Softmax',
                    'ReduceMean', 'ReduceL2', 'Sqrt', 'Clip', 'Sigmoid', 'AveragePool',
                    'GlobalAveragePool', 'Sum', 'QLinearAdd', 'QLinearConcat'),
    'resize': ('Resize', 'Upsample'),
}
OPENVINO = {
    'conv': ('Convolution', 'GroupConvolution', 'MatMul', 'FullyConnected'),
    'layout': ('Reorder', 'ShuffleChannels', 'Concatenation', 'Concat', 'Split',
               'VariadicSplit', 'Reshape', 'Transpose', 'Pad', 'StridedSlice'),
    'elementwise': ('Subgraph', 'Eltwise', 'MaxPool', 'AvgPool', 'Pooling', 'Softmax',
                    'FakeQuantize', 'ReduceMean', 'ReduceL2', 'Multiply', 'Add'),
    'resize': ('Interpolate', ),
}


def aten_category(name: str) -> str:
    op = name.split('::')[-1]
    for category, keys in ATEN.items():
        if any(key in op for key in keys):
            return category
    return 'other'


def openvino_category(node_type: str) -> str:
    for category, types in OPENVINO.items():
        if node_type in types:
            return category
    return 'other'


def onnxruntime_category(op_type: str) -> str:
    for category, types in ONNXRUNTIME.items():
        if op_type in types:
            return category
    return 'other'


def eager_profile(model, calls: int = 3, shape=SHAPE) -> dict:
    """Self CPU ms per call and category of the ``logits`` function."""
    from torch.profiler import ProfilerActivity, profile
    forward = SegmentorForExport(model.eval())
    x = torch.randn(1, 3, *shape)
    with torch.no_grad():
        forward(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(calls):
                forward(x)
    spent = collections.Counter()
    for event in prof.key_averages():
        spent[aten_category(event.key)] += event.self_cpu_time_total / 1e3 / calls
    return dict(spent)


def openvino_profile(model_file: str, threads: int, calls: int = 3) -> dict:
    """OpenVINO per-node ms per call and category (performance counters)."""
    import openvino as ov
    core = ov.Core()
    compiled = core.compile_model(
        core.read_model(model_file), 'CPU',
        {'INFERENCE_NUM_THREADS': str(threads), 'PERFORMANCE_HINT': 'LATENCY',
         'INFERENCE_PRECISION_HINT': 'f32', 'PERF_COUNT': True})
    request = compiled.create_infer_request()
    x = np.random.default_rng(0).standard_normal((1, 3, *SHAPE)).astype(np.float32)
    request.infer({0: x})
    spent = collections.Counter()
    for _ in range(calls):
        request.infer({0: x})
        for node in request.profiling_info:
            spent[openvino_category(node.node_type)] += (node.real_time.total_seconds() * 1e3
                                                        / calls)
    return dict(spent)


def onnxruntime_profile(model_file: str, threads: int, calls: int = 3, shape=SHAPE) -> dict:
    """ONNX Runtime per-node ms per call and category (its session profiler)."""
    import json
    import os

    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(model_file, options, providers=['CPUExecutionProvider'])
    name = session.get_inputs()[0].name
    x = np.random.default_rng(0).standard_normal((1, 3, *shape)).astype(np.float32)
    session.run(None, {name: x})  # warm-up, not profiled
    options.enable_profiling = True
    session = ort.InferenceSession(model_file, options, providers=['CPUExecutionProvider'])
    session.run(None, {name: x})
    for _ in range(calls):
        session.run(None, {name: x})
    trace = session.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    os.remove(trace)
    runs = [e for e in events if e.get('name') == 'model_run']
    first_timed = sorted(e['ts'] for e in runs)[1]  # skip the first (warm-up) run
    spent = collections.Counter()
    for event in events:
        if (event.get('cat') == 'Node' and event['name'].endswith('_kernel_time')
                and event['ts'] >= first_timed):
            spent[onnxruntime_category(event['args']['op_name'])] += event['dur'] / 1e3 / calls
    return dict(spent)


def int8_graph(model, fp32_file: str, out_dir: str) -> str:
    """LRNNet's INT8 graph for OpenVINO, calibrated on random input (speed only)."""
    from peer_table import RandomCalibrationReader
    from lrseg_mm.apis.quantize import quantize_int8_openvino
    out = osp.join(out_dir, 'lrnnet-int8.xml')
    return quantize_int8_openvino(fp32_file, out, RandomCalibrationReader(SHAPE))


def row(name: str, spent: dict, last: str) -> str:
    """A table row: total, each category's ms and share, then ``last``."""
    total = sum(spent.values())
    cells = [f'{spent.get(c, 0):.0f} ({100 * spent.get(c, 0) / total:.0f} %)'
             for c in CATEGORIES]
    return f'| {name} | {total:.0f} | ' + ' | '.join(cells) + f' | {last} |'


def conv_gflops(spent: dict, macs: float) -> str:
    """2 x MACs / convolution time, GFLOP/s."""
    return f'{2 * macs / spent["conv"] / 1e6:.0f}' if spent.get('conv') else '-'


def run(threads: int, openvino: bool = True, log=print) -> str:
    torch.set_num_threads(threads)
    header = ('| model | total ms | ' + ' | '.join(CATEGORIES) + ' | conv GFLOP/s |\n'
              '|---|---:|' + '---:|' * (len(CATEGORIES) + 1))
    eager = [header]
    lrnnet, lrnnet_macs = None, None
    for name, config in MODELS.items():
        model = load_segmentor(config if config.startswith('mmseg::')
                               else osp.join(REPO, config), drop_auxiliary_heads=True).eval()
        macs = count_macs(model, torch.randn(1, 3, *SHAPE)).macs
        spent = eager_profile(model)
        eager.append(row(name, spent, conv_gflops(spent, macs)))
        fused = copy.deepcopy(model)
        fuse_conv_bn(fused, extra_fusers=PEER_FUSERS)
        spent = eager_profile(fused)
        eager.append(row(f'{name}, BN folded', spent, conv_gflops(spent, macs)))
        log(eager[-2] + '\n' + eager[-1])
        if name == 'LRNNet':
            lrnnet, lrnnet_macs = model, macs
    text = [f'Measured {time.strftime("%Y-%m-%d %H:%M")} on **{cpu_model_name()}**, '
            f'{threads} thread(s), torch {torch.__version__}, 512x1024, batch 1, random '
            'weights, `logits` function (network + resize to the input size). ms per call '
            '(profiler self time; shares in brackets).', '', 'Eager PyTorch:', '', *eager]
    if openvino:
        from lrseg_mm.apis.deploy import cached_export
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = cached_export(lrnnet, SHAPE, 1, tmp, name='LRNNet')
            int8 = int8_graph(lrnnet, fp32, tmp)
            ort_fp32 = onnxruntime_profile(fp32, threads)
            graphs = {'LRNNet fp32': openvino_profile(fp32, threads),
                      'LRNNet INT8 (NNCF)': openvino_profile(int8, threads)}
        ov_rows = ['| graph | total ms | ' + ' | '.join(CATEGORIES) + ' | non-conv share |',
                   '|---|---:|' + '---:|' * (len(CATEGORIES) + 1)]
        fp32_total = sum(graphs['LRNNet fp32'].values())
        for name, spent in graphs.items():
            floor = (sum(spent.values()) - spent.get('conv', 0)) / fp32_total
            ov_rows.append(row(name, spent, f'{floor:.2f}'))
            log(ov_rows[-1])
        text += ['', 'OpenVINO (performance counters; non-conv share = the graph\'s time '
                 'outside convolutions and matrix products / the fp32 graph\'s total):', '',
                 *ov_rows, '', 'ONNX Runtime (session profiler, kernel time per node; the '
                 'eager rows above are the reference for backend / eager):', '',
                 header, row('LRNNet fp32', ort_fp32, conv_gflops(ort_fp32, lrnnet_macs))]
        log(text[-1])
    return '\n'.join(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--no-openvino', action='store_true')
    parser.add_argument('--write', action='store_true',
                        help='replace the cpu-profile block of BENCHMARKS.md')
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error('--threads must be >= 1')
    text = run(args.threads, openvino=not args.no_openvino)
    print(text)
    if args.write:
        path = osp.join(REPO, 'BENCHMARKS.md')
        with open(path) as f:
            content = f.read()
        with open(path, 'w') as f:
            f.write(replace_marked_block(content, f'{BLOCK_NAME}-cpu', text))
    return text


if __name__ == '__main__':
    main()
