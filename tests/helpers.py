"""Shared helpers and test base classes (in the spirit of smp's tests/models/base.py)."""
import contextlib
import importlib.util
import os
import os.path as osp
import subprocess
import sys
from unittest import mock

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from lrseg_mm.apis import load_segmentor

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_config(path: str, **overrides) -> Config:
    cfg = Config.fromfile(osp.join(REPO, path))
    cfg.merge_from_dict(overrides)
    return cfg


def load_tool(path: str):
    """A script of the repository (e.g. ``'tools/infer.py'``) imported as a module."""
    name = osp.splitext(osp.basename(path))[0] + '_tool'
    spec = importlib.util.spec_from_file_location(name, osp.join(REPO, path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def mocked_downloads(source: dict):
    """mmengine's ``load_url`` answering every URL with a copy of ``source``; yields the list
    of URLs asked for."""
    asked = []

    def fake_load_url(url, *args, **kwargs):
        asked.append(url)
        return {k: v.clone() for k, v in source.items()}

    with mock.patch('mmengine.runner.checkpoint.load_url', fake_load_url):
        yield asked


def build_segmentor(config_path: str):
    """A config's model in training mode, built as tools and benchmarks build it
    (:func:`lrseg_mm.apis.load_segmentor`: SyncBN -> BN, untrained weights)."""
    return load_segmentor(osp.join(REPO, config_path)).train()


def strip_pretrained(cfg):
    """Remove ``pretrained`` keys and ``Pretrained`` init_cfgs from a model config, in place
    (for tests that train a config through the Runner, which would download them)."""
    if isinstance(cfg, dict):
        cfg.pop('pretrained', None)
        init_cfg = cfg.get('init_cfg', None)
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            cfg['init_cfg'] = None
        elif isinstance(init_cfg, list):
            cfg['init_cfg'] = [c for c in init_cfg
                               if not (isinstance(c, dict) and c.get('type') == 'Pretrained')]
        for value in cfg.values():
            strip_pretrained(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            strip_pretrained(value)
    return cfg


def replace_sync_bn(cfg):
    """Turn every ``norm_cfg`` of type ``SyncBN`` into ``BN``, in place, at any depth (for
    tests that train a config in one process without the Runner's own revert)."""
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'norm_cfg' and isinstance(value, dict) and value.get('type') == 'SyncBN':
                value['type'] = 'BN'
            else:
                replace_sync_bn(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            replace_sync_bn(value)
    return cfg


def count_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def segment_logits(model, h: int, w: int, batch: int = 1):
    """Eval-mode logits of the segmentor at its native resolution (no resizing)."""
    model.eval()
    with torch.no_grad():
        return model._forward(torch.randn(batch, 3, h, w))


class SegmentorTestBase:
    """Checks every segmentor must pass; a family's test class only names its config.

    Attributes:
        config (str): Config path relative to the repo root.
        output_stride (int): Stride of the head's logits w.r.t. the input.
        exact_params (int | None): Exact parameter count of the inference path.
        small_size (tuple): Input size for quick checks.
    """
    config: str = ''
    output_stride: int = 8
    exact_params = None
    small_size = (64, 128)

    def build(self):
        return build_segmentor(self.config)

    def test_exact_parameter_count(self):
        if self.exact_params is None:
            pytest.skip(f'no exact parameter target for {self.config}')
        assert count_params(self.build()) == self.exact_params

    def test_output_stride(self):
        h, w = self.small_size
        logits = segment_logits(self.build(), h, w)
        assert logits.shape[-2:] == (-(-h // self.output_stride), -(-w // self.output_stride))

    def test_odd_sizes_give_logits_at_input_size(self):
        model = self.build().eval()
        from mmseg.structures import SegDataSample
        for h, w in [(97, 131), (65, 65)]:
            meta = dict(img_shape=(h, w), ori_shape=(h, w), pad_shape=(h, w),
                        padding_size=[0, 0, 0, 0])
            sample = SegDataSample(metainfo=meta)
            with torch.no_grad():
                out = model.predict(torch.randn(1, 3, h, w), [sample])
            assert out[0].seg_logits.data.shape[-2:] == (h, w)
            assert out[0].pred_sem_seg.data.shape[-2:] == (h, w)

    def test_backward_reaches_every_parameter(self):
        model = self.build().train()
        h, w = self.small_size
        from mmseg.structures import SegDataSample
        from mmengine.structures import PixelData
        samples = []
        for _ in range(2):
            s = SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w)))
            s.gt_sem_seg = PixelData(data=torch.randint(0, 19, (1, h, w)))
            samples.append(s)
        losses = model.loss(torch.randn(2, 3, h, w), samples)
        total = sum(v for k, v in losses.items() if 'loss' in k)
        assert torch.isfinite(total)
        total.backward()
        missing = [n for n, p in model.named_parameters()
                   if p.requires_grad and (p.grad is None)]
        assert not missing, missing

    def test_state_dict_roundtrip_strict(self, tmp_path):
        model = self.build().eval()
        path = tmp_path / 'weights.pth'
        torch.save(model.state_dict(), path)
        other = self.build().eval()
        other.load_state_dict(torch.load(path, weights_only=True), strict=True)
        x = torch.randn(1, 3, *self.small_size)
        with torch.no_grad():
            # same weights, kernels and input in one process: bit for bit the same
            assert torch.equal(model._forward(x), other._forward(x))


LRNNET_SYNTHETIC = 'configs/lrnnet/lrnnet_1xb8-600i_synthetic-128x256.py'


def _resize_and_crop_options(config, crop):
    """Options that make the train pipeline's resize and crop steps produce ``crop``,
    found by type (a family may put a colour transform or a choice of scales first)."""
    h, w = crop
    pipeline = load_config(config).train_dataloader.dataset.pipeline
    options = []
    for index, transform in enumerate(pipeline):
        key = f'train_dataloader.dataset.pipeline.{index}'
        if transform['type'] == 'RandomResize':
            options.append(f'{key}.scale=({w},{h})')
        elif transform['type'] == 'RandomChoiceResize':
            options.append(f'{key}.scales=[({w},{h})]')
        elif transform['type'] == 'RandomCrop':
            options.append(f'{key}.crop_size=({h},{w})')
    assert len(options) == 2, f'{config}: expected one resize and one crop step, {options}'
    return options


def tiny_options(data_root, max_iters, ckpt_interval=2, batch=2, crop=(64, 128),
                 config=LRNNET_SYNTHETIC):
    """--cfg-options that shrink ``config`` to a few iterations on 64x128 crops."""
    h, w = crop
    return _resize_and_crop_options(config, crop) + [
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
        f'train_dataloader.batch_size={batch}', 'train_dataloader.num_workers=0',
        'train_dataloader.persistent_workers=False', 'val_dataloader.num_workers=0',
        'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
        'test_dataloader.persistent_workers=False',
        f'model.data_preprocessor.size=({h},{w})',
        f'train_cfg.max_iters={max_iters}', f'train_cfg.val_interval={max_iters}',
        f'param_scheduler.0.end={max_iters}',
        f'default_hooks.checkpoint.interval={ckpt_interval}',
        'default_hooks.checkpoint.max_keep_ckpts=10', 'default_hooks.logger.interval=1',
        'randomness.seed=0', 'randomness.deterministic=True',
    ]


def run_tool(args, timeout=300, env=None):
    """Run a command from the repo root with the venv's python; return the result."""
    full_env = dict(os.environ, OMP_NUM_THREADS='1', OMP_WAIT_POLICY='PASSIVE',
                    PYTHONWARNINGS='ignore')
    full_env.update(env or {})
    result = subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=timeout,
                            env=full_env)
    return result


def python_tool(script, *args, **kwargs):
    return run_tool([sys.executable, osp.join(REPO, script), *args], **kwargs)

def randomise_bn(model):
    """Non-trivial running statistics and affine parameters, so folding is exercised."""
    gen = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=gen) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=gen) - 0.5)
    return model


def count_bn(model):
    return sum(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())

def write_tiny_camvid(root, num_train=2, num_val=2, size=(360, 480)):
    """A CamVid-layout folder: textured 360x480 frames whose labels hold ids 0..11."""
    rng = np.random.default_rng(0)
    h, w = size
    for split, n in (('train', num_train), ('val', num_val)):
        (root / split).mkdir(parents=True)
        (root / f'{split}annot').mkdir()
        for i in range(n):
            # 12 vertical bands, one per id (11 = void); the image colour follows the band
            label = np.repeat((np.arange(w) * 12 // w)[None], h, axis=0).astype(np.uint8)
            label = np.roll(label, 7 * i, axis=1)
            image = (label[..., None] * np.array([20, 9, 31]) % 255).astype(np.uint8)
            image = np.clip(image + rng.integers(0, 30, image.shape), 0, 255).astype(np.uint8)
            cv2.imwrite(str(root / split / f'0001TP_{i:06d}.png'), image)
            cv2.imwrite(str(root / f'{split}annot' / f'0001TP_{i:06d}.png'), label)
    return root


def write_random_images(root, sizes, stem='image'):
    """Random-noise BGR images of the given (H, W) sizes, as PNG files; their paths."""
    rng = np.random.default_rng(0)
    paths = []
    for i, (h, w) in enumerate(sizes):
        path = str(root / f'{stem}_{i}.png')
        cv2.imwrite(path, rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        paths.append(path)
    return paths
