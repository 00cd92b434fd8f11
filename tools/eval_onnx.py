"""mIoU of exported (fp32 or INT8) models on a labelled split, on a CPU runtime.

The models are ONNX files (ONNX Runtime or OpenVINO) or OpenVINO IRs (``.xml``, e.g. the
NNCF INT8 model of ``tools/quantize_onnx.py --backend openvino``; OpenVINO only).

Each model is evaluated by the config's own test run on its val split (its dataloader, test
pipeline and evaluator) with the graph in place of the network
(:class:`lrseg_mm.deploy.BackendSegmentor`: the data preprocessor, the graph at batch 1,
logits resized to the label's size as the toolbox does). ``IoUMetric`` becomes
``ClassIoUMetric``, so the results hold per-class IoU and the confusion matrix besides
aAcc, mIoU and mAcc (percent).

Examples (fp32 vs INT8 on CamVid val)::

    python tools/eval_onnx.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        lrnnet_fp32.onnx lrnnet_int8.onnx --json camvid_int8.json
    python tools/eval_onnx.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        lrnnet_fp32.onnx lrnnet_int8.xml --backend openvino
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config, DictAction

from lrseg_mm.apis import load_config
from lrseg_mm.deploy import BACKENDS, backend_test_config, is_openvino_ir, run_test


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='mIoU of exported segmentors (ONNX files or '
                                     'OpenVINO IRs) on a labelled split')
    parser.add_argument('config', help='config file (dataset, test pipeline)')
    parser.add_argument('models', nargs='+',
                        help='.onnx files, or OpenVINO IRs (.xml, --backend openvino only), '
                        'to evaluate')
    parser.add_argument('--backend', choices=[b for b in BACKENDS if b != 'pytorch'],
                        default='onnxruntime')
    parser.add_argument('--threads', type=int, default=None, help='backend CPU threads')
    parser.add_argument('--img-dir', help="images (default: the val dataloader's)")
    parser.add_argument('--ann-dir', help="label maps (default: the val dataloader's)")
    parser.add_argument('--json', metavar='OUT', help='write the results to this JSON file')
    parser.add_argument('--work-dir', help='folder of the test runs\' logs (default: '
                        'work_dirs/eval_onnx/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    args = parser.parse_args(argv)
    irs = [path for path in args.models if is_openvino_ir(path)]
    if irs and args.backend != 'openvino':
        parser.error(f'{", ".join(irs)}: an OpenVINO IR runs on --backend openvino only, not '
                     f'{args.backend}')
    return args


def build_config(args) -> Config:
    """The config with the split folders, the per-class metric and the work folder set."""
    cfg = load_config(args.config, args.cfg_options)
    prefix = cfg.val_dataloader.dataset.setdefault('data_prefix', {})
    for key, folder in (('img_path', args.img_dir), ('seg_map_path', args.ann_dir)):
        if folder:
            prefix[key] = osp.abspath(folder)  # an absolute prefix ignores data_root
    if cfg.val_evaluator.get('type') in ('IoUMetric', 'mmseg.IoUMetric'):
        cfg.val_evaluator.type = 'ClassIoUMetric'
    stem = osp.splitext(osp.basename(args.config))[0]
    cfg.work_dir = args.work_dir or osp.join('work_dirs', 'eval_onnx', stem)
    return cfg


def main(argv=None) -> dict:
    import lrseg_mm  # noqa: F401  (registers the datasets and the metric)
    args = parse_args(argv)
    cfg = build_config(args)
    results = {}
    for path in args.models:
        result = run_test(backend_test_config(cfg, path, args.backend, args.threads))
        results[path] = result
        print(f"{path}: mIoU {result['mIoU']:.2f} | aAcc {result['aAcc']:.2f} "
              f"({result['images']} images, {args.backend})")
    if len(args.models) == 2:
        a, b = (results[p]['mIoU'] for p in args.models)
        print(f'mIoU difference (second - first): {b - a:+.2f} points')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, backend=args.backend, results=results), f,
                      indent=1, default=float)  # IoUMetric's numpy floats
    return results


if __name__ == '__main__':
    main()
    sys.exit(0)
