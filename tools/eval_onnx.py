"""mIoU of an exported (fp32 or INT8) model on a labelled split, on a CPU backend.

The models are ONNX files (ONNX Runtime or OpenVINO) or OpenVINO IRs (``.xml``, e.g. the
NNCF INT8 model of ``tools/quantize_onnx.py --backend openvino``; OpenVINO only).

Images are brought to the size the config's test pipeline gives them, normalised as the
file's metadata says, run at batch 1 through ONNX Runtime or OpenVINO; the logits are
resized to the label's size and compared with it (the toolbox's ``IoUMetric`` definitions:
per-class IoU, mIoU over classes present in labels or predictions, aAcc). The split
defaults to the config's val dataloader (folder, suffixes, label map such as CamVid's void).

Examples (fp32 vs INT8 on CamVid val)::

    python tools/eval_onnx.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        lrnnet_fp32.onnx lrnnet_int8.onnx --json camvid_int8.json
    python tools/eval_onnx.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        lrnnet_fp32.onnx lrnnet_int8.xml --backend openvino
"""
import argparse
import inspect
import json
import os.path as osp
import sys

from mmengine.config import Config, DictAction

from lrseg_mm.apis import resolve_config_path
from lrseg_mm.apis.deploy import BACKENDS, build_backend
from lrseg_mm.apis.quantize import (evaluate_folder, graph_preprocessing, is_openvino_ir,
                                    list_images, paired_label_files, pipeline_resize_scale)


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
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    args = parser.parse_args(argv)
    irs = [path for path in args.models if is_openvino_ir(path)]
    if irs and args.backend != 'openvino':
        parser.error(f'{", ".join(irs)}: an OpenVINO IR runs on --backend openvino only, not '
                     f'{args.backend}')
    return args


def split_of(cfg, img_dir=None, ann_dir=None):
    """Image folder, label folder, suffixes and label map of the config's val split."""
    from mmseg.registry import DATASETS
    dataset = cfg.val_dataloader.dataset
    root = dataset.get('data_root', '')
    prefix = dataset.get('data_prefix', {})
    img_dir = img_dir or osp.join(root, prefix.get('img_path', ''))
    ann_dir = ann_dir or osp.join(root, prefix.get('seg_map_path', ''))
    cls = DATASETS.get(dataset['type'])
    defaults = inspect.signature(cls.__init__).parameters
    img_suffix = dataset.get('img_suffix') or defaults['img_suffix'].default
    seg_suffix = dataset.get('seg_map_suffix') or defaults['seg_map_suffix'].default
    return img_dir, ann_dir, img_suffix, seg_suffix, cls.get_label_map(None), len(
        cls.METAINFO['classes'])


def main(argv=None) -> dict:
    import lrseg_mm  # noqa: F401  (registers the datasets)
    from mmseg.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    args = parse_args(argv)
    cfg = Config.fromfile(resolve_config_path(args.config))
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    img_dir, ann_dir, img_suffix, seg_suffix, label_map, num_classes = split_of(
        cfg, args.img_dir, args.ann_dir)
    images = [p for p in list_images(img_dir) if p.endswith(img_suffix)]
    labels = paired_label_files(images, ann_dir, img_suffix, seg_suffix)
    scale = pipeline_resize_scale(cfg)
    results = {}
    for path in args.models:
        model = build_backend(args.backend, onnx_file=path, threads=args.threads)
        result = evaluate_folder(model, images, labels, num_classes, graph_preprocessing(path),
                                 scale, label_map, progress=True)
        results[path] = result
        print(f"{path}: mIoU {100 * result['mIoU']:.2f} | aAcc {100 * result['aAcc']:.2f} "
              f"({result['images']} images of {img_dir}, {args.backend})")
    if len(args.models) == 2:
        a, b = (results[p]['mIoU'] for p in args.models)
        print(f'mIoU difference (second - first): {100 * (b - a):+.2f} points')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, backend=args.backend, img_dir=img_dir,
                           results=results), f, indent=1)
    return results


if __name__ == '__main__':
    main()
    sys.exit(0)
