"""Export a segmentor to ONNX and check onnxruntime against PyTorch on random input.

The graph is the segmentor's whole-image inference (``encode_decode``): a normalised image
batch (N, 3, H, W) in, logits (N, num_classes, H, W) at the input size out; see
:mod:`lrseg_mm.apis.export`. The tool exits with status 1 when onnxruntime's logits differ
from PyTorch's by ``--atol`` or more, at the export size or, with ``--dynamic``, at a second
size and batch (which shows the graph follows the input's shape).

Example::

    python tools/export_onnx.py configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py \\
        work_dirs/lrnnet/iter_160000.pth --shape 512 1024 --dynamic --out lrnnet.onnx
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

import lrseg_mm  # noqa: F401  (registers modules and applies the compat fixes)
from lrseg_mm.apis import export_onnx, load_segmentor, onnxruntime_parity


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a segmentor to ONNX and compare '
                                     'onnxruntime with PyTorch')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (default: untrained weights)')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 1024],
                        metavar=('H', 'W'), help='input height and width for tracing')
    parser.add_argument('--dynamic', action='store_true',
                        help='make batch, height and width dynamic axes')
    parser.add_argument('--check-shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='second size checked with --dynamic (default: H+32 W+32)')
    parser.add_argument('--out', help='output .onnx file (default: <config name>.onnx)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset version')
    parser.add_argument('--atol', type=float, default=1e-3,
                        help='largest allowed max abs difference of the logits')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or osp.splitext(osp.basename(args.config))[0] + '.onnx'
    model = load_segmentor(args.config, args.checkpoint, cfg_options=args.cfg_options)
    export_onnx(model, out, tuple(args.shape), dynamic=args.dynamic,
                opset_version=args.opset)
    print(f'exported {out} ({"dynamic" if args.dynamic else "static"} shape, '
          f'traced at {args.shape[0]}x{args.shape[1]})')

    checks = [(tuple(args.shape), 1)]
    if args.dynamic:
        h, w = args.shape
        checks.append((tuple(args.check_shape or (h + 32, w + 32)), 2))
    failed = False
    for shape, batch in checks:
        try:
            parity = onnxruntime_parity(out, model, shape, batch_size=batch)
        except Exception as error:  # onnxruntime refuses shapes a static graph fixed
            print(f'onnxruntime failed at batch {batch}, {shape[0]}x{shape[1]}: {error}',
                  file=sys.stderr)
            failed = True
            continue
        ok = parity.max_abs_diff < args.atol
        failed |= not ok
        print(f'batch {batch}, {shape[0]}x{shape[1]}: max abs diff onnxruntime vs PyTorch '
              f'= {parity.max_abs_diff:.3g} (logits up to {parity.max_abs_logit:.3g}; '
              f'{"ok" if ok else "FAIL"}, tolerance {args.atol:g})')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
