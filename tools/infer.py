"""Segment images with a trained model; write overlay pictures and label PNGs.

Runs the toolbox's ``MMSegInferencer`` (the config's test pipeline and its
``SegLocalVisualizer``) through :class:`lrseg_mm.apis.LrsegInferencer`. For every input image
``<name>.<ext>`` it writes ``OUT_DIR/overlays/<name>.png`` (class colours over the image)
and ``OUT_DIR/labels/<name>.png`` (the class index of every pixel, 8-bit grayscale; train
ids for Cityscapes). IMAGES may be files or folders (their images, sorted).

Example::

    python tools/infer.py configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py \\
        work_dirs/lrnnet/iter_160000.pth demo/*.png --out-dir work_dirs/infer
"""
import argparse
import sys

import torch
from mmengine.config import DictAction

import lrseg_mm  # noqa: F401  (registers modules)
from lrseg_mm.apis import LrsegInferencer, UnreadableImageError, collect_images


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Segment images; write overlays and labels')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('images', nargs='+', help='image files or folders of images')
    parser.add_argument('--out-dir', required=True, help='output folder')
    parser.add_argument('--device', default='cuda:0' if torch.cuda.is_available() else 'cpu',
                        help='device, e.g. cpu or cuda:0 (default: cuda:0 when available)')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='opacity of the class colours in the overlays, (0, 1]')
    parser.add_argument('--with-labels', action='store_true',
                        help='write class names on the overlays')
    parser.add_argument('--no-progress', action='store_true', help='hide the progress bar')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        paths = collect_images(args.images)
    except (FileNotFoundError, ValueError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 2
    inferencer = LrsegInferencer(args.config, args.checkpoint, device=args.device,
                                 cfg_options=args.cfg_options)
    try:
        written = inferencer(paths, args.out_dir, opacity=args.opacity,
                             with_labels=args.with_labels, progress=not args.no_progress)
    except UnreadableImageError as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'{len(written)} image(s): overlays in {args.out_dir}/overlays, '
          f'labels in {args.out_dir}/labels')
    return 0


if __name__ == '__main__':
    sys.exit(main())
