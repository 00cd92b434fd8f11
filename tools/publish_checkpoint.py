"""Turn a training checkpoint into a small one to ship: weights only, half precision.

A checkpoint written by the Runner holds the optimizer state, the message hub and the
weights in float32 (LRNNet: 8.6 MB). What a user needs to run the model is the weights and
the class names and palette, which ``mmseg.apis.init_model`` reads from
``meta['dataset_meta']``. This tool keeps exactly that, stores floating-point weights in
float16 (``--fp32`` keeps float32), checks that the result loads strictly into the config's
model and gives the same predictions as the source, and prints the file's size and SHA-256.

Example::

    python tools/publish_checkpoint.py configs/lrnnet/lrnnet_1xb8-40k_camvid-360x480.py \\
        ~/runs/camvid/e60-b4/lrnnet-c-drop0-seed0/iter_5505.pth \\
        checkpoints/lrnnet-c_camvid-360x480.pth
"""
import argparse
import hashlib
import os
import os.path as osp
import sys

import torch
from mmengine.config import DictAction

import lrseg_mm  # noqa: F401  (registers modules)
from lrseg_mm.apis import load_segmentor
from lrseg_mm.engine import load_local_checkpoint


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Publish a checkpoint: weights only, fp16')
    parser.add_argument('config', help='config the checkpoint belongs to')
    parser.add_argument('src', help='checkpoint written by training')
    parser.add_argument('dst', help='file to write')
    parser.add_argument('--fp32', action='store_true', help='keep float32 weights')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override settings in the config, key=value')
    return parser.parse_args(argv)


def dataset_meta(cfg) -> dict:
    """Class names and palette of the config's test dataset class (what ``init_model``
    reads from a checkpoint's ``meta['dataset_meta']``)."""
    from mmseg.registry import DATASETS
    loader = cfg.get('test_dataloader') or cfg.get('val_dataloader')
    if not loader:
        raise ValueError('the config has no test_dataloader or val_dataloader to take the '
                         'class names and palette from')
    metainfo = DATASETS.get(loader.dataset.type).METAINFO
    palette = [list(color) for color in metainfo['palette']]
    return dict(classes=tuple(metainfo['classes']), palette=palette)


def publish(config, src: str, dst: str, fp16: bool = True, cfg_options=None) -> dict:
    """Write the weights of ``src`` with the config's dataset meta to ``dst``.

    Args:
        config (str | Config): The config whose model the weights belong to.
        src (str): A checkpoint with a ``state_dict`` (or a bare state dict).
        dst (str): Output file; its folder is created.
        fp16 (bool): Store floating-point tensors as float16. Default: True.
        cfg_options (dict, optional): Config overrides. Default: None.

    Returns:
        dict: ``path``, ``bytes``, ``sha256`` and ``agreement`` (the fraction of pixels of
        a random 360x480 input whose predicted class the published weights keep).

    Raises:
        ValueError: If the weights do not fit the config's model exactly (names the keys).
    """
    checkpoint = load_local_checkpoint(src, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint)
    model = load_segmentor(config, cfg_options=cfg_options)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    reshaped = sorted(k for k in set(state) & set(expected)
                      if state[k].shape != expected[k].shape)
    if missing or unexpected or reshaped:
        raise ValueError(f'{src} does not fit the model of {config}: missing keys '
                         f'{missing[:8]}, unexpected keys {unexpected[:8]}, keys of another '
                         f'shape {reshaped[:8]}')
    model.load_state_dict(state, strict=True)
    img = torch.randn(1, 3, 360, 480, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        reference = model.encode_decode(img, [dict(img_shape=(360, 480))]).argmax(1)
    published = {
        key: value.half() if fp16 and value.is_floating_point() else value.clone()
        for key, value in state.items()
    }
    meta = dict(dataset_meta=dataset_meta(model.cfg), source=osp.basename(src),
                iter=checkpoint.get('meta', {}).get('iter'),
                config=osp.basename(config) if isinstance(config, str) else None)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    torch.save(dict(meta=meta, state_dict=published), dst)

    # what a user gets: the toolbox's loader, float16 weights copied into float32 parameters
    reloaded = load_segmentor(config, dst, cfg_options=cfg_options)
    reloaded.load_state_dict(torch.load(dst, map_location='cpu')['state_dict'], strict=True)
    with torch.no_grad():
        pred = reloaded.encode_decode(img, [dict(img_shape=(360, 480))]).argmax(1)
    with open(dst, 'rb') as f:
        sha256 = hashlib.sha256(f.read()).hexdigest()
    return dict(path=dst, bytes=osp.getsize(dst), sha256=sha256,
                agreement=float((pred == reference).float().mean()))


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        info = publish(args.config, args.src, args.dst, fp16=not args.fp32,
                       cfg_options=args.cfg_options)
    except (ValueError, FileNotFoundError) as error:
        print(f'error: {error}', file=sys.stderr)
        return 1
    print(f'wrote {info["path"]}: {info["bytes"] / 2**20:.2f} MiB, sha256 {info["sha256"]}; '
          f'{100 * info["agreement"]:.2f} % of the pixels of a random 360x480 input keep '
          'their predicted class')
    return 0


if __name__ == '__main__':
    sys.exit(main())
