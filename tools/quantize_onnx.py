"""INT8 post-training quantisation of a trained segmentor for CPU deployment.

Exports the checkpoint's fp32 graph (``lrseg_mm.deploy.export_onnx``, static input shape),
quantises it and writes both files. Activations are calibrated on ``--num-calib`` crops of
the images in ``--calib-dir``, put through the config's test pipeline and the model's data
preprocessor (size, channel order, mean, std). Two quantisers (``--backend``):

* ``onnxruntime`` (default): ONNX Runtime's static quantisation, an ``.onnx`` file in QDQ
  format (per-channel INT8 weights) that ONNX Runtime and OpenVINO both run.
* ``openvino``: NNCF's ``nncf.quantize`` on the graph read by OpenVINO, an OpenVINO IR
  (``--out`` ends in ``.xml``; the weights go to the ``.bin`` beside it) with
  ``FakeQuantize`` operators, preset ``--preset``; it runs in OpenVINO only.

Then compare them on a labelled split with ``tools/eval_onnx.py`` (``--backend openvino``
for an IR), and time them with ``tools/benchmark.py CONFIG --backend onnxruntime --onnx
FILE`` (``--backend openvino`` for an IR).

Examples (CamVid, the trained LRNNet of benchmarks/camvid.py)::

    python tools/quantize_onnx.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        work_dirs/lrnnet_camvid/iter_40000.pth --calib-dir data/CamVid/train \\
        --num-calib 300 --out work_dirs/lrnnet_camvid/lrnnet_int8.onnx

    python tools/quantize_onnx.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        work_dirs/lrnnet_camvid/iter_40000.pth --calib-dir data/CamVid/train \\
        --num-calib 300 --backend openvino --out work_dirs/lrnnet_camvid/lrnnet_int8.xml
    python tools/eval_onnx.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        work_dirs/lrnnet_camvid/lrnnet_int8_fp32.onnx \\
        work_dirs/lrnnet_camvid/lrnnet_int8.xml --backend openvino
"""
import argparse
import os.path as osp
import sys

from mmengine.config import DictAction

from lrseg_mm.apis import list_images, load_segmentor
from lrseg_mm.deploy import (DEFAULT_OP_TYPES, OPENVINO_PRESETS, OPENVINO_RANGES,
                             ImageFolderCalibrationReader, export_onnx, import_backend,
                             cpu_has_vnni, import_nncf, is_openvino_ir, quantize_int8,
                             quantize_int8_openvino)


# options of the ONNX Runtime quantiser: None when not given, so that giving one with
# --backend openvino is an error rather than silently ignored
ORT_ONLY = ('activation_type', 'method', 'per_tensor', 'reduce_range', 'op_types')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Export and statically quantise a '
                                     'segmentor to INT8 (ONNX QDQ with onnxruntime, or an '
                                     'OpenVINO IR with NNCF)')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='trained checkpoint')
    parser.add_argument('--calib-dir', required=True,
                        help='folder of calibration images (e.g. the training split)')
    parser.add_argument('--num-calib', type=int, default=300,
                        help='calibration crops (default: 300)')
    parser.add_argument('--backend', choices=['onnxruntime', 'openvino'],
                        default='onnxruntime',
                        help='quantiser: onnxruntime (QDQ .onnx, default) or openvino '
                        '(NNCF, OpenVINO IR .xml)')
    parser.add_argument('--out', required=True,
                        help='INT8 file to write: .onnx (onnxruntime) or .xml (openvino)')
    parser.add_argument('--fp32-out', help='fp32 .onnx file (default: OUT with _fp32)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="input size of the static graphs (default: the config's "
                        'data_preprocessor size)')
    ort = parser.add_argument_group('onnxruntime only')
    ort.add_argument('--activation-type', choices=['uint8', 'int8'], default=None,
                     help='default: uint8')
    ort.add_argument('--method', choices=['minmax', 'percentile', 'entropy'], default=None,
                     help='activation range calibration (default: minmax)')
    ort.add_argument('--per-tensor', action='store_true', default=None,
                     help='one scale per weight tensor instead of per output channel')
    ort.add_argument('--reduce-range', action='store_true', default=None,
                     help='7-bit weights (x86 CPUs without VNNI)')
    ort.add_argument('--op-types', nargs='+', default=None,
                     help=f'operator types to quantise (default: {" ".join(DEFAULT_OP_TYPES)}'
                     '; "all" for every type onnxruntime can)')
    ov = parser.add_argument_group('openvino only')
    ov.add_argument('--preset', choices=list(OPENVINO_PRESETS), default=None,
                    help='NNCF preset: performance (symmetric activations, default) or '
                    'mixed (asymmetric activations)')
    ov.add_argument('--activation-range', choices=list(OPENVINO_RANGES), default=None,
                    help='activation ranges: minmax (extremes over all crops, default) or '
                    "mean_minmax (NNCF's default: per-crop extremes averaged)")
    parser.add_argument('--seed', type=int, default=0, help='seed of the crops')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    args = parser.parse_args(argv)
    if args.num_calib < 1:
        parser.error('--num-calib must be >= 1')
    if args.backend == 'openvino':
        given = ['--' + name.replace('_', '-') for name in ORT_ONLY
                 if getattr(args, name) is not None]
        if given:
            parser.error(f'{", ".join(given)} apply to --backend onnxruntime only (NNCF '
                         'chooses its own quantisation scheme; see --preset)')
        if not is_openvino_ir(args.out):
            parser.error(f'--backend openvino writes an OpenVINO IR: --out must end in .xml '
                         f'(the weights go to the .bin beside it), got {args.out}')
        args.preset = args.preset or 'performance'
        args.activation_range = args.activation_range or 'minmax'
    else:
        for name in ('preset', 'activation_range'):
            if getattr(args, name) is not None:
                parser.error(f'--{name.replace("_", "-")} applies to --backend openvino only')
        if is_openvino_ir(args.out):
            parser.error(f'--backend onnxruntime writes an ONNX file, not an OpenVINO IR: '
                         f'--out {args.out} ends in .xml (use --backend openvino for an IR)')
        args.activation_type = args.activation_type or 'uint8'
        args.method = args.method or 'minmax'
        args.per_tensor = bool(args.per_tensor)
        args.reduce_range = bool(args.reduce_range)
        args.op_types = args.op_types or list(DEFAULT_OP_TYPES)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.backend == 'openvino':  # a missing package fails before the export
        import_nncf()
        import_backend('openvino')
    model = load_segmentor(args.config, args.checkpoint, cfg_options=args.cfg_options)
    shape = args.shape or (model.cfg.model.get('data_preprocessor') or {}).get('size')
    if shape is None:
        print('the config names no data_preprocessor size; give --shape H W', file=sys.stderr)
        return 2
    shape = tuple(shape)
    fp32 = args.fp32_out or osp.splitext(args.out)[0] + '_fp32.onnx'
    export_onnx(model, fp32, shape, dynamic=False)
    print(f'fp32 graph: {fp32} ({shape[0]}x{shape[1]}, static)')
    reader = ImageFolderCalibrationReader(list_images(args.calib_dir), args.num_calib, shape,
                                          model.cfg.test_pipeline, model.data_preprocessor,
                                          seed=args.seed)
    if args.backend == 'openvino':
        quantize_int8_openvino(fp32, args.out, reader, preset=args.preset,
                               activation_range=args.activation_range)
        print(f'INT8 graph: {args.out} (OpenVINO IR, NNCF {args.preset} preset, '
              f'{args.activation_range} activation ranges on {len(reader)} crops of '
              f'{args.calib_dir})')
        return 0
    op_types = None if args.op_types == ['all'] else args.op_types
    if not args.reduce_range and not cpu_has_vnni():
        print('note: this CPU has no VNNI, where full-range INT8 weights saturate ONNX '
              "Runtime's kernels; to run the file here, quantise with --reduce-range",
              file=sys.stderr)
    quantize_int8(fp32, args.out, reader, per_channel=not args.per_tensor,
                  activation_type=args.activation_type, reduce_range=args.reduce_range,
                  method=args.method, op_types=op_types)
    print(f'INT8 graph: {args.out} (QDQ, {"per-tensor" if args.per_tensor else "per-channel"} '
          f'int8 weights, {args.activation_type} activations, {args.method} calibration on '
          f'{len(reader)} crops of {args.calib_dir}, ops: {" ".join(op_types or ["all"])})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
