"""INT8 post-training quantisation of a trained segmentor for CPU deployment.

Exports the checkpoint's fp32 graph (``lrseg_mm.apis.export_onnx``, static input shape),
quantises it with ONNX Runtime's static quantisation (QDQ format, per-channel INT8 weights,
activations calibrated on ``--num-calib`` crops of the images in ``--calib-dir``, brought
to the test pipeline's size and normalised as the model expects) and writes both files.
Then compare them on a labelled split with ``tools/eval_onnx.py``, and time them with
``tools/benchmark.py CONFIG --backend onnxruntime --onnx FILE``.

Example (CamVid, the trained LRNNet of benchmarks/camvid.py)::

    python tools/quantize_onnx.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        work_dirs/lrnnet_camvid/iter_40000.pth --calib-dir data/CamVid/train \\
        --num-calib 300 --out work_dirs/lrnnet_camvid/lrnnet_int8.onnx
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from lrseg_mm.apis import export_onnx, load_segmentor
from lrseg_mm.apis.quantize import (DEFAULT_OP_TYPES, ImageFolderCalibrationReader,
                                    graph_preprocessing, list_images, pipeline_resize_scale,
                                    quantize_int8)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export and statically quantise a '
                                     'segmentor to INT8 (ONNX, QDQ)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--calib-dir', required=True,
                        help='folder of calibration images (e.g. the training split)')
    parser.add_argument('--num-calib', type=int, default=300,
                        help='calibration crops (default: 300)')
    parser.add_argument('--out', required=True, help='INT8 .onnx file to write')
    parser.add_argument('--fp32-out', help='fp32 .onnx file (default: OUT with _fp32)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="input size of the static graphs (default: the config's "
                        'data_preprocessor size)')
    parser.add_argument('--activation-type', choices=['uint8', 'int8'], default='uint8')
    parser.add_argument('--method', choices=['minmax', 'percentile', 'entropy'],
                        default='minmax', help='activation range calibration')
    parser.add_argument('--per-tensor', action='store_true',
                        help='one scale per weight tensor instead of per output channel')
    parser.add_argument('--reduce-range', action='store_true',
                        help='7-bit weights (x86 CPUs without VNNI)')
    parser.add_argument('--op-types', nargs='+', default=list(DEFAULT_OP_TYPES),
                        help=f'operator types to quantise (default: {" ".join(DEFAULT_OP_TYPES)}'
                        '; "all" for every type onnxruntime can)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the crops')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    args = parser.parse_args(argv)
    if args.num_calib < 1:
        parser.error('--num-calib must be >= 1')
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    model = load_segmentor(args.config, args.checkpoint, cfg_options=args.cfg_options)
    shape = args.shape or (model.cfg.model.get('data_preprocessor') or {}).get('size')
    if shape is None:
        print('the config names no data_preprocessor size; give --shape H W', file=sys.stderr)
        return 2
    shape = tuple(shape)
    fp32 = args.fp32_out or osp.splitext(args.out)[0] + '_fp32.onnx'
    export_onnx(model, fp32, shape, dynamic=False)
    print(f'fp32 graph: {fp32} ({shape[0]}x{shape[1]}, static)')
    preprocessing = graph_preprocessing(fp32)
    scale = pipeline_resize_scale(model.cfg)
    reader = ImageFolderCalibrationReader(list_images(args.calib_dir), args.num_calib, shape,
                                          preprocessing, scale, seed=args.seed)
    op_types = None if args.op_types == ['all'] else args.op_types
    quantize_int8(fp32, args.out, reader, per_channel=not args.per_tensor,
                  activation_type=args.activation_type, reduce_range=args.reduce_range,
                  method=args.method, op_types=op_types)
    print(f'INT8 graph: {args.out} (QDQ, {"per-tensor" if args.per_tensor else "per-channel"} '
          f'int8 weights, {args.activation_type} activations, {args.method} calibration on '
          f'{len(reader)} crops of {args.calib_dir}, ops: {" ".join(op_types or ["all"])})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
