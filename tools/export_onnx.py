"""Export a segmentor to ONNX and check onnxruntime against PyTorch on random input.

The graph is the segmentor's whole-image inference (``encode_decode``): a normalised image
batch (N, 3, H, W) in, logits (N, num_classes, H, W) at the input size out; the mean, std
and channel order to normalise with are stored in the file's metadata. See
:mod:`lrseg_mm.deploy.export`. The tool exits with status 1 when onnxruntime's logits differ
from PyTorch's by more than the tolerance, at the export size or, with ``--dynamic``, at a
second size and batch (which shows the graph follows the input's shape). The tolerance is
derived from the model itself: ``--rounding-factor`` (4) times the largest difference between
PyTorch's float32 and float64 logits on the same input, since onnxruntime rounds in float32
too; ``--atol`` sets a fixed one instead.

Without a checkpoint the weights are untrained; BN statistics are then set from random
images and the classifier scaled to unit-variance logits (``calibrate_untrained``), so
that the check compares varied logits of a trained model's scale.

Example::

    python tools/export_onnx.py configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py \\
        work_dirs/lrnnet/iter_160000.pth --shape 512 1024 --dynamic --out lrnnet.onnx
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

import lrseg_mm  # noqa: F401  (registers modules)
from lrseg_mm.apis import load_segmentor
from lrseg_mm.deploy import (backend_parity, calibrate_untrained, export_onnx,
                             float32_rounding_error)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export a segmentor to ONNX and compare '
                                     'onnxruntime with PyTorch')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='checkpoint file (default: untrained, calibrated weights)')
    parser.add_argument('--shape', type=int, nargs=2, default=[512, 1024],
                        metavar=('H', 'W'), help='input height and width for tracing')
    parser.add_argument('--dynamic', action='store_true',
                        help='make batch, height and width dynamic axes')
    parser.add_argument('--check-shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='second size checked with --dynamic (default: H+32 W+32)')
    parser.add_argument('--out', help='output .onnx file (default: <config name>.onnx)')
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset version')
    parser.add_argument('--rounding-factor', type=float, default=4.,
                        help='tolerance as a multiple of PyTorch\'s own float32 rounding error '
                        '(float32 vs float64 logits on the same input)')
    parser.add_argument('--atol', type=float, default=None,
                        help='a fixed largest allowed max abs difference of the logits '
                        'instead of the rounding-derived one')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    return parser.parse_args(argv)


def check(out, model, shape, batch, atol=None, rounding_factor=4.) -> bool:
    """Compare onnxruntime with PyTorch at one size; print the result; True if it passes.

    The tolerance is ``atol`` if given, else ``rounding_factor`` times PyTorch's own float32
    rounding error on the same input.
    """
    where = f'batch {batch}, {shape[0]}x{shape[1]}'
    try:
        parity = backend_parity(out, model, shape, batch_size=batch)
    except Exception as error:  # e.g. onnxruntime refusing a shape a static graph fixed
        print(f'{where}: onnxruntime failed: {error}', file=sys.stderr)
        return False
    rounding = float32_rounding_error(model, shape, batch_size=batch)
    if atol is None:
        tolerance, source = rounding_factor * rounding, f'{rounding_factor:g} x rounding'
    else:
        tolerance, source = atol, '--atol'
    ok = parity.max_abs_diff <= tolerance
    print(f'{where}: max abs diff onnxruntime vs PyTorch = {parity.max_abs_diff:.3g} '
          f'(logits up to {parity.max_abs_logit:.3g}; {"ok" if ok else "FAIL"}, '
          f'tolerance {tolerance:.3g} from {source})')
    if not ok:
        print(f'{where}: for scale, PyTorch float32 vs float64 differ by {rounding:.3g}; a '
              'difference of that order is float32 rounding, a much larger one an export '
              'error', file=sys.stderr)
    return ok


def main(argv=None) -> int:
    args = parse_args(argv)
    out = args.out or osp.splitext(osp.basename(args.config))[0] + '.onnx'
    model = load_segmentor(args.config, args.checkpoint, cfg_options=args.cfg_options)
    if args.checkpoint is None:
        calibrate_untrained(model, tuple(args.shape))
        print('no checkpoint: untrained weights with calibrated BN statistics')
    export_onnx(model, out, tuple(args.shape), dynamic=args.dynamic,
                opset_version=args.opset)
    print(f'exported {out} ({"dynamic" if args.dynamic else "static"} shape, '
          f'traced at {args.shape[0]}x{args.shape[1]})')

    traced_ok = check(out, model, tuple(args.shape), 1, args.atol, args.rounding_factor)
    other_ok = True
    if args.dynamic:
        h, w = args.shape
        other_ok = check(out, model, tuple(args.check_shape or (h + 32, w + 32)), 2,
                         args.atol, args.rounding_factor)
        if traced_ok and not other_ok:
            print('the graph may be right at the traced size only: some layer computes '
                  "with sizes that tracing froze (e.g. mmcv's Conv2dAdaptivePadding in the "
                  "toolbox's MobileNetV3); export without --dynamic at the size you need",
                  file=sys.stderr)
    return 0 if traced_ok and other_ok else 1


if __name__ == '__main__':
    sys.exit(main())
