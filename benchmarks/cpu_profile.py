"""Where LRNNet's CPU time goes, next to its peers': each operator's self time in the
``logits`` function at 512x1024 by category, in eager PyTorch (as built and BN-folded),
OpenVINO (float32 and INT8 graphs) and ONNX Runtime (see BENCHMARKS.md). Profiler overhead
inflates the ms: read the shares."""
import argparse
import collections
import copy
import json
import os
import os.path as osp
import tempfile

import torch

from lrseg_mm.apis import load_segmentor
from lrseg_mm.deploy import (SegmentorForExport, cached_export, onnxruntime_session,
                             openvino_compiled_model, random_images)
from lrseg_mm.utils import count_macs, device_description, fuse_conv_bn
from .peers import ENTRY, PEER_FUSERS, REPO, int8_graph
from .sections import markdown_table, write_section

SECTION = 'cpu-profile-cpu'
SHAPE = (512, 1024)
MODELS = ('LRNNet', 'ERFNet', 'CGNet')
CATEGORIES = ('conv', 'batch norm', 'layout', 'elementwise', 'resize', 'other')

# ATen operators (self time, matched by substring) by category.
ATEN = {
    'conv': ('convolution', 'conv2d', 'conv_depthwise', 'addmm', 'bmm', 'mm', 'matmul'),
    'batch norm': ('batch_norm', ),
    'layout': ('cat', 'copy_', 'clone', 'channel_shuffle', 'contiguous', 'pad', 'constant_pad'),
    'elementwise': ('add', 'relu', 'clamp', 'maximum', 'mul', 'sigmoid', 'prelu', 'div',
                    'threshold', 'hardtanh', 'softmax', 'sub', 'max_pool', 'avg_pool',
                    'adaptive_avg_pool', 'mean', 'norm'),
    'resize': ('upsample', ),
}
# ONNX Runtime's node op types (after its fusions: FusedConv = Conv + activation, NCHWc
# convolutions with their ReorderInput/ReorderOutput layout conversions) and OpenVINO's.
NODES = {
    'conv': ('Conv', 'FusedConv', 'QLinearConv', 'ConvInteger', 'MatMul', 'FusedMatMul', 'Gemm',
             'QLinearMatMul', 'MatMulInteger', 'Convolution', 'GroupConvolution',
             'FullyConnected'),
    'batch norm': ('BatchNormalization', ),
    'layout': ('Concat', 'Split', 'Slice', 'Transpose', 'Reshape', 'ReorderInput',
               'ReorderOutput', 'Pad', 'Gather', 'QuantizeLinear', 'DequantizeLinear',
               'Reorder', 'ShuffleChannels', 'Concatenation', 'VariadicSplit', 'StridedSlice'),
    'elementwise': ('Add', 'Relu', 'Max', 'MaxPool', 'Mul', 'Div', 'Sub', 'Softmax',
                    'ReduceMean', 'ReduceL2', 'Sqrt', 'Clip', 'Sigmoid', 'AveragePool',
                    'GlobalAveragePool', 'Sum', 'QLinearAdd', 'QLinearConcat', 'Subgraph',
                    'Eltwise', 'AvgPool', 'Pooling', 'FakeQuantize', 'Multiply'),
    'resize': ('Resize', 'Upsample', 'Interpolate'),
}


def category(name: str, aten: bool = False) -> str:
    """The category of a backend's node type ``name`` (:data:`NODES`), or with ``aten`` of
    an ATen operator (:data:`ATEN`: substrings of its name)."""
    if aten:
        op = name.split('::')[-1]
        return next((c for c, keys in ATEN.items() if any(k in op for k in keys)), 'other')
    return next((c for c, types in NODES.items() if name in types), 'other')


def eager_profile(model, calls: int = 3, shape=SHAPE) -> dict:
    """Self CPU ms per call and category of the ``logits`` function of ``model``, profiled
    over ``calls`` calls at ``shape``."""
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
        spent[category(event.key, aten=True)] += event.self_cpu_time_total / 1e3 / calls
    return dict(spent)


def openvino_profile(model_file: str, threads: int, calls: int = 3, shape=SHAPE) -> dict:
    """OpenVINO per-node ms per call and category (performance counters) of a graph, over
    ``calls`` calls at ``shape`` on ``threads`` threads."""
    request = openvino_compiled_model(model_file, threads, profile=True).create_infer_request()
    x = random_images(1, shape).numpy()
    request.infer({0: x})
    spent = collections.Counter()
    for _ in range(calls):
        request.infer({0: x})
        for node in request.profiling_info:
            spent[category(node.node_type)] += node.real_time.total_seconds() * 1e3
    return {k: v / calls for k, v in spent.items()}


def onnxruntime_profile(model_file: str, threads: int, calls: int = 3, shape=SHAPE) -> dict:
    """ONNX Runtime per-node ms per call and category (its session profiler) of a graph,
    over ``calls`` calls at ``shape`` on ``threads`` threads."""
    session = onnxruntime_session(model_file, threads, profile=True)
    feed = {session.get_inputs()[0].name: random_images(1, shape).numpy()}
    for _ in range(calls + 1):
        session.run(None, feed)
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
            spent[category(event['args']['op_name'])] += event['dur'] / 1e3
    return {k: v / calls for k, v in spent.items()}


def row(name: str, spent: dict, last: str) -> list:
    """The cells of a table row: ``name``, the total and each category's ms and share of
    ``spent``, then ``last``."""
    total = sum(spent.values())
    shares = [f'{spent.get(c, 0):.0f} ({100 * spent.get(c, 0) / total:.0f} %)' for c in CATEGORIES]
    return [name, f'{total:.0f}', *shares, last]


def conv_gflops(spent: dict, macs: float) -> str:
    """2 x ``macs`` / the convolution time of ``spent``, GFLOP/s."""
    return f'{2 * macs / spent["conv"] / 1e6:.0f}' if spent.get('conv') else '-'


def _table(last: str, rows) -> str:
    """A profile table whose last column is ``last``."""
    return markdown_table(['model', 'total ms', *CATEGORIES, last], rows)


def run(threads: int, deployed: bool = True, log=print) -> str:
    """The profile tables in Markdown, at ``threads`` threads; ``deployed`` adds LRNNet's
    exported graphs (OpenVINO, ONNX Runtime). Each table also goes to ``log``."""
    torch.set_num_threads(threads)
    eager, models = [], {}
    for name in MODELS:
        model = load_segmentor(ENTRY[name].path, drop_auxiliary_heads=True)
        macs = count_macs(model, torch.randn(1, 3, *SHAPE)).macs
        fused = copy.deepcopy(model)
        fuse_conv_bn(fused, extra_fusers=PEER_FUSERS)
        for label, m in ((name, model), (f'{name}, BN folded', fused)):
            spent = eager_profile(m)
            eager.append(row(label, spent, conv_gflops(spent, macs)))
            log(' | '.join(eager[-1]))
        models[name] = model, macs
    text = [f'Measured on **{device_description("cpu")}**, {threads} thread(s), torch '
            f'{torch.__version__}, 512x1024, batch 1, random weights, `logits` function '
            '(network + resize to the input size). ms per call (profiler self time; shares '
            'in brackets).', 'Eager PyTorch:', _table('conv GFLOP/s', eager)]
    if deployed:
        lrnnet, macs = models['LRNNet']
        with tempfile.TemporaryDirectory() as tmp:
            fp32 = cached_export(lrnnet, SHAPE, 1, tmp, name='LRNNet')
            ort_fp32 = onnxruntime_profile(fp32, threads)
            graphs = {'LRNNet fp32': openvino_profile(fp32, threads),
                      'LRNNet INT8 (NNCF)': openvino_profile(int8_graph(fp32, 'openvino',
                                                                        SHAPE), threads)}
        fp32_total = sum(graphs['LRNNet fp32'].values())
        text += ['OpenVINO (performance counters; non-conv share = the graph\'s time outside '
                 'convolutions and matrix products / the fp32 graph\'s total):',
                 _table('non-conv share', [
                     row(name, s, f'{(sum(s.values()) - s.get("conv", 0)) / fp32_total:.2f}')
                     for name, s in graphs.items()]),
                 'ONNX Runtime (session profiler, kernel time per node; the eager rows above '
                 'are the reference for backend / eager):',
                 _table('conv GFLOP/s', [row('LRNNet fp32', ort_fp32,
                                             conv_gflops(ort_fp32, macs))])]
        log('\n\n'.join(text[-4:]))
    return '\n\n'.join(text)


def main(argv=None):
    """Run the profile with the command line ``argv``; returns its Markdown."""
    parser = argparse.ArgumentParser(prog='python -m benchmarks.cpu_profile',
                                     description="Where LRNNet's CPU time goes")
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--no-openvino', action='store_true',
                        help='eager PyTorch only (no exported graphs)')
    parser.add_argument('--write', action='store_true',
                        help=f'replace the {SECTION} section of BENCHMARKS.md')
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error('--threads must be >= 1')
    text = run(args.threads, deployed=not args.no_openvino)
    print(text)
    if args.write:
        write_section(osp.join(REPO, 'BENCHMARKS.md'), SECTION, text, after='<!-- END ')
    return text


if __name__ == '__main__':
    main()
