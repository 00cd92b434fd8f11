"""Parameters and multiply-adds (MACs) of a config's segmentor.

Example::

    python tools/get_flops.py configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py \\
        --shape 512 1024

The toolbox's own ``tools/analysis_tools/get_flops.py`` (mmseg 1.2.2) passes both
``input_shape`` and ``inputs`` to mmengine's ``get_model_complexity_info``, which raises
``ValueError`` on mmengine >= 0.7.3. This tool counts with the same tracer but reports
multiply-adds only, by operator, and lists the operators it did not count; see
``lrseg_mm.utils.flops`` for the exact rules. What is analysed is the toolbox's
``mode='tensor'`` forward (backbone, neck, decode head; no final resize), batch 1, with
auxiliary heads removed, as the toolbox's tool does.
"""
import argparse
import json

import torch
from mmengine.config import DictAction

from lrseg_mm.apis import load_segmentor
from lrseg_mm.utils import count_macs, count_parameters, format_count


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Parameters and MACs of a segmentor')
    parser.add_argument('config', help='config file')
    parser.add_argument('--shape', type=int, nargs='+', default=[512, 1024],
                        help='input H W, or one size for a square input (default: 512 1024)')
    parser.add_argument('--json', metavar='OUT', help='also write the counts to this file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    args = parser.parse_args(argv)
    if len(args.shape) == 1:
        args.shape = args.shape * 2
    if len(args.shape) != 2 or min(args.shape) < 1:
        parser.error(f'--shape takes one or two positive sizes, got {args.shape}')
    return args


def complexity(config, shape, cfg_options=None) -> dict:
    """Parameters and MACs of a config's segmentor on one ``shape`` image."""
    model = load_segmentor(config, cfg_options=cfg_options, drop_auxiliary_heads=True)
    h, w = shape
    report = count_macs(model, torch.randn(1, 3, h, w))
    return dict(config=config, shape=[h, w], params=count_parameters(model),
                macs=report.macs, macs_by_operator=report.by_operator,
                uncounted_ops=report.uncounted_ops)


def format_report(result: dict) -> str:
    h, w = result['shape']
    split = '=' * 60
    by_op = ' | '.join(f'{op}: {format_count(n)}'
                       for op, n in sorted(result['macs_by_operator'].items(),
                                           key=lambda kv: -kv[1]))
    uncounted = ', '.join(f'{op.replace("aten::", "")} x{n}'
                          for op, n in result['uncounted_ops'].items())
    return '\n'.join([
        split,
        f"Config: {result['config']}",
        f'Input shape: (1, 3, {h}, {w}); forward mode "tensor" (no final resize)',
        f"Params: {format_count(result['params'])} ({result['params']:,}; auxiliary heads "
        'excluded)',
        f"MACs (multiply-adds): {format_count(result['macs'])} ({result['macs']:,}) = "
        f"{format_count(2 * result['macs'])}FLOPs",
        f'  by operator: {by_op}',
        f'Not counted (not multiply-adds): {uncounted or "none"}',
        split,
    ])


def main(argv=None) -> dict:
    args = parse_args(argv)
    result = complexity(args.config, args.shape, args.cfg_options)
    print(format_report(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
    return result


if __name__ == '__main__':
    main()
