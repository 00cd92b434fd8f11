"""Latency / FPS of a config's segmentor on random input: no dataset, no checkpoint needed.

Examples::

    python tools/benchmark.py configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py
    python tools/benchmark.py CONFIG --shape 512 1024 --iters 50 --json out.json
    python tools/benchmark.py CONFIG --device cuda --fp16 --cuda-graph
    python tools/benchmark.py CONFIG --compile --threads 1   # torch.compile (Inductor)
    python tools/benchmark.py CONFIG --toolbox-protocol   # mmseg benchmark.py's protocol
    python tools/benchmark.py CONFIG --backend onnxruntime --threads 2   # exported graph
    python tools/benchmark.py CONFIG --backend openvino --onnx model_int8.onnx

The model is built from the config by ``lrseg_mm.apis.load_segmentor`` (the toolbox's
``init_model``, SyncBN -> BN, untrained weights, which time the same), in eval mode, and
called on one fixed random batch between device synchronisations, timed by the project's
timer (``lrseg_mm.utils.timing``, which also says what each ``--mode`` times). With
``--backend onnxruntime|openvino`` the model is exported once with the project's exporter
(static shape, ``logits`` mode) and the backend's session is timed with the same
warm-up/timed-call protocol (``lrseg_mm.deploy.build_backend``);
``--onnx FILE`` times a given file instead (e.g. an INT8 model from
``tools/quantize_onnx.py``).
"""
import argparse
import json
import os
import os.path as osp

import torch
from mmengine.config import DictAction

from lrseg_mm.apis import load_segmentor
from lrseg_mm.deploy import BACKENDS, build_backend
from lrseg_mm.utils import (MODES, InferenceRunner, count_parameters, device_description,
                            format_count, fuse_conv_bn, latency_stats, round_robin,
                            toolbox_fps)
from lrseg_mm.utils.timing import TOOLBOX_TOTAL_ITERS, TOOLBOX_WARMUP


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Latency and FPS of a segmentor on random input (no data, no weights)')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs=2, default=(512, 1024), metavar=('H', 'W'),
                        help='input height and width (default: 512 1024)')
    parser.add_argument('--batch', type=int, default=1, help='images per call (default: 1)')
    parser.add_argument('--iters', type=int, default=100, help='timed calls (default: 100)')
    parser.add_argument('--warmup', type=int, default=10,
                        help='untimed calls first (default: 10)')
    parser.add_argument('--mode', choices=MODES, default='logits',
                        help="what is timed: 'logits' = network + resize to the input size "
                        "(default), 'predict' = the toolbox's predict (label maps), 'tensor' "
                        '= raw head output')
    parser.add_argument('--fp16', action='store_true', help='half-precision weights and input')
    parser.add_argument('--channels-last', action='store_true',
                        help='channels-last memory format for weights and input')
    parser.add_argument('--cuda-graph', action='store_true',
                        help='capture one call as a CUDA graph and time its replays (CUDA)')
    parser.add_argument('--compile', action='store_true',
                        help='torch.compile (Inductor, freezing on) the timed function; the '
                        'first warm-up call compiles')
    parser.add_argument('--fuse-conv-bn', action='store_true',
                        help='fold eval-mode BN into the preceding convs first')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default=None,
                        help='default: cuda when available, else cpu')
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads for torch (default: torch\'s own choice)')
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch',
                        help="runtime: 'pytorch' (eager, default), or the exported ONNX graph "
                        "in 'onnxruntime' or 'openvino' (CPU, logits mode)")
    parser.add_argument('--onnx', metavar='FILE',
                        help='time this ONNX file on --backend instead of exporting CONFIG')
    parser.add_argument('--json', metavar='OUT', help='write the results to this JSON file')
    parser.add_argument('--toolbox-protocol', action='store_true',
                        help=f"mmseg benchmark.py's protocol: batch 1, {TOOLBOX_WARMUP} "
                        f'warm-up + {TOOLBOX_TOTAL_ITERS - TOOLBOX_WARMUP} timed predict '
                        'calls, FPS = timed calls / their total time')
    parser.add_argument('--no-progress', action='store_true', help='no progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    args = parser.parse_args(argv)
    if args.toolbox_protocol:
        args.batch, args.mode = 1, 'predict'
        args.warmup, args.iters = TOOLBOX_WARMUP, TOOLBOX_TOTAL_ITERS - TOOLBOX_WARMUP
    if args.device is None:
        cuda = torch.cuda.is_available() and args.backend == 'pytorch'
        args.device = 'cuda' if cuda else 'cpu'
    for name in ('batch', 'iters'):
        if getattr(args, name) < 1:
            parser.error(f'--{name} must be >= 1')
    if args.warmup < 0:
        parser.error('--warmup must be >= 0')
    if args.compile and args.warmup < 1:
        parser.error('--compile needs --warmup >= 1: the first call compiles')
    if min(args.shape) < 1:
        parser.error('--shape must be positive')
    if args.threads is not None and args.threads < 1:
        parser.error('--threads must be >= 1')
    if args.onnx and args.backend == 'pytorch':
        parser.error('--onnx needs --backend onnxruntime or openvino')
    if args.backend != 'pytorch':
        unsupported = [name for name, on in (
            ('--device cuda', args.device != 'cpu'),
            (f'--mode {args.mode}', args.mode != 'logits'), ('--fp16', args.fp16),
            ('--channels-last', args.channels_last), ('--cuda-graph', args.cuda_graph),
            ('--compile', args.compile),
            ('--toolbox-protocol', args.toolbox_protocol)) if on]
        if unsupported:
            parser.error(f'--backend {args.backend} runs the exported logits graph on the '
                         f'CPU; not with {", ".join(unsupported)}')
    return args


def run(args) -> dict:
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.device == 'cuda':
        # The toolbox's benchmark turns cuDNN autotuning off; our own protocol turns it on.
        torch.backends.cudnn.benchmark = not args.toolbox_protocol
    model = load_segmentor(args.config, cfg_options=args.cfg_options,
                           drop_auxiliary_heads=True)
    params = count_parameters(model)
    fused = fuse_conv_bn(model) if args.fuse_conv_bn else 0
    if args.backend == 'pytorch':
        runner = InferenceRunner(model, tuple(args.shape), args.batch, args.device, args.mode,
                                 fp16=args.fp16, channels_last=args.channels_last,
                                 cuda_graph=args.cuda_graph, compiled=args.compile)
    else:
        deployed = build_backend(args.backend, model, tuple(args.shape), args.batch,
                                 threads=args.threads, onnx_file=args.onnx)
        generator = torch.Generator().manual_seed(0)
        inputs = torch.randn(args.batch, 3, *args.shape, generator=generator).numpy()
        runner = lambda: deployed(inputs)  # noqa: E731
    times = round_robin({'model': runner}, args.iters, args.warmup,
                        progress=not args.no_progress, desc=osp.basename(args.config))
    stats = latency_stats(times.wall['model'], args.batch)
    result = dict(
        config=args.config, device=args.device, device_name=device_description(args.device),
        torch=torch.__version__, backend=args.backend, onnx=args.onnx,
        threads=args.threads or torch.get_num_threads(), shape=list(args.shape),
        mode=args.mode, fp16=args.fp16, channels_last=args.channels_last,
        cuda_graph=args.cuda_graph, compiled=args.compile, fused_conv_bn=fused, params=params,
        warmup=args.warmup, **stats)
    if args.toolbox_protocol:
        result['toolbox_fps'] = toolbox_fps(times.wall['model'])
    return result


def report(result: dict) -> str:
    precision = 'fp16' if result['fp16'] else 'fp32'
    layout = 'channels-last' if result['channels_last'] else 'NCHW'
    extras = [x for x, on in (('CUDA graph', result['cuda_graph']),
                              ('torch.compile', result.get('compiled')),
                              (f"{result['fused_conv_bn']} BN folded",
                               result['fused_conv_bn'])) if on]
    h, w = result['shape']
    lines = [
        f"config: {result['config']}",
        f"params: {format_count(result['params'])} ({result['params']:,}, auxiliary heads "
        'excluded)',
        f"device: {result['device']} - {result['device_name']}",
        f"backend: {result['backend']}" + (f" ({result['onnx']})" if result['onnx'] else '')
        + f", {result['threads']} thread(s)",
        f"input: {result['batch_size']}x3x{h}x{w} {precision} {layout}, mode "
        f"'{result['mode']}'" + (f" ({', '.join(extras)})" if extras else ''),
        f"latency over {result['iters']} calls ({result['warmup']} warm-up): "
        f"mean {result['mean_ms']:.2f} ms | median {result['median_ms']:.2f} ms | "
        f"std {result['std_ms']:.2f} ms | min {result['min_ms']:.2f} ms",
        f"FPS: {result['fps']:.2f} img/s (mean), {result['fps_median']:.2f} img/s (median)",
    ]
    if 'toolbox_fps' in result:
        lines.append(f"Overall fps: {result['toolbox_fps']:.2f} img / s  (mmseg benchmark.py "
                     'protocol)')
    return '\n'.join(lines)


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = run(args)
    print(report(result))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'results written to {args.json}')
    return result


if __name__ == '__main__':
    main()
