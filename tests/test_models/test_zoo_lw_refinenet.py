"""The Light-Weight RefineNet configs: exact parity counts, shared segmentor checks, recipe,
a few Runner iterations on the synthetic data, and the head on another toolbox backbone."""
import copy
import glob
import json
import math
import os.path as osp

import pytest
import torch
import yaml
from mmengine.hooks import Hook
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import load_checkpoint
from mmengine.structures import PixelData
from mmseg.registry import MODELS
from mmseg.structures import SegDataSample

from lrseg_mm.engine import safe_checkpoint_loading

from helpers import (REPO, SegmentorTestBase, build_segmentor, count_params, load_config,
                     mocked_downloads)

VOC = 'configs/lw_refinenet/lw-refinenet_{}_4xb4-40k_voc12aug-512x512.py'
CITYSCAPES = 'configs/lw_refinenet/lw-refinenet_{}_4xb2-80k_cityscapes-512x1024.py'

# Decoders (tests/test_models/test_decode_heads/test_lw_refinenet_head.py derives them).
RESNET_DECODER = 3_801_088
MBV2_DECODER = 1_423_360
CLASSIFIER_PER_CLASS = 2_305  # 3x3 conv 256 -> N with bias


def build_uninitialised(config):
    """The config's model without weight init or downloads: enough for parameter counts."""
    cfg = load_config(config)
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


def conv_multiply_adds(model, h, w):
    """Multiply-adds of every Conv2d in one eval forward (no norms, pools or resizes)."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        total += output.numel() * module.weight[0].numel()  # (C_in / groups) * kh * kw

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, torch.nn.Conv2d)]
    model.eval()
    with torch.no_grad():
        model._forward(torch.randn(1, 3, h, w))
    for hook in hooks:
        hook.remove()
    return total


class _BuildOnce:
    """Builds the config's model once per class and hands out copies (tests mutate them)."""
    _model = None

    def build(self):
        cls = type(self)
        if cls._model is None:
            cls._model = build_segmentor(self.config)
        return copy.deepcopy(cls._model)

    @classmethod
    def teardown_class(cls):
        cls._model = None


class _VOCCounts(_BuildOnce, SegmentorTestBase):
    """Exact parameter counts with 21 classes and conv multiply-adds at 512x512."""
    output_stride = 4
    small_size = (64, 64)
    decoder_params = macs_at_512 = None

    def test_decoder_alone(self):
        head = self.build().decode_head
        assert count_params(head) == self.decoder_params + CLASSIFIER_PER_CLASS * 21

    def test_conv_multiply_adds_at_512(self):
        # Every map of a 64x64 input is 1/64 of the 512x512 one (64 is a multiple of the
        # stride 32), so 64x the count at 64x64 is the README's 512x512 figure, which
        # mmengine's FlopAnalyzer (conv operators only) gives too.
        assert 64 * conv_multiply_adds(self.build(), 64, 64) == self.macs_at_512


class TestRFLWResNet50(_VOCCounts):
    config = VOC.format('r50')
    # The official unit test's count with 21 classes: the toolbox ResNet-50 (torchvision
    # layout, no fc) 23,508,032 + decoder 3,801,088 + 2,305 * 21.
    exact_params = 27_357_525
    decoder_params, macs_at_512 = RESNET_DECODER, 31_977_373_696


class TestRFLWMobileNetV2(_VOCCounts):
    config = VOC.format('mbv2')
    # The official unit test's count with 21 classes: MobileNetV2LW 1,812,800 (toolbox
    # MobileNetV2 1,811,712 + the first block's expansion conv 1,088) + decoder 1,423,360
    # + 2,305 * 21.
    exact_params = 3_284_565
    decoder_params, macs_at_512 = MBV2_DECODER, 8_583_872_512


@pytest.mark.parametrize('name, expected', [('r101', 46_349_653), ('r152', 61_993_301)])
def test_deeper_resnets_exact_counts(name, expected):
    # Official unit test counts (21 classes); toolbox ResNet-101 42,500,160 and ResNet-152
    # 58,143,808 + the same decoder 3,849,493.
    assert count_params(build_uninitialised(VOC.format(name))) == expected


@pytest.mark.parametrize('name, expected', [('r50', 27_357_525 - 2 * CLASSIFIER_PER_CLASS),
                                            ('mbv2', 3_284_565 - 2 * CLASSIFIER_PER_CLASS)])
def test_cityscapes_configs_have_19_classes(name, expected):
    assert count_params(build_uninitialised(CITYSCAPES.format(name))) == expected


IMAGENET = {
    'r50': 'https://download.pytorch.org/models/resnet50-19c8e357.pth',
    'r101': 'https://download.pytorch.org/models/resnet101-5d3b4d8f.pth',
    'r152': 'https://download.pytorch.org/models/resnet152-b121ed2d.pth',
    'mbv2': 'mmcls://mobilenet_v2',
}
LAYOUTS = osp.join(REPO, 'tests/data/official_layouts')


@pytest.mark.parametrize('name', sorted(IMAGENET))
def test_configs_name_imagenet_weights_loadable_without_torchvision(name):
    # http URLs (torchvision's releases, the ones the official code loads) and mmcls://,
    # which mmengine resolves from its own model-zoo list: nothing beyond what is installed
    for config in (VOC, CITYSCAPES):
        init = load_config(config.format(name)).model.backbone.init_cfg
        assert (init.type, init.checkpoint) == ('Pretrained', IMAGENET[name])


def _imagenet_state_dict(layout, seed=0):
    """Random tensors in the exact key layout of the ImageNet checkpoint."""
    g = torch.Generator().manual_seed(seed)
    with open(osp.join(LAYOUTS, f'{layout}.json')) as f:
        return {k: (torch.tensor(5) if k.endswith('num_batches_tracked') else
                    torch.randn(shape, generator=g)) for k, shape in json.load(f)}


def _pretrained_backbone(name, source):
    """The config's backbone initialised from its Pretrained checkpoint, download mocked."""
    cfg = load_config(VOC.format(name))
    backbone = MODELS.build(cfg.model.backbone)
    with mocked_downloads(source) as asked:
        backbone.init_weights()
    return backbone, asked


@pytest.mark.parametrize('name', ['r50', 'r101', 'r152'])
def test_torchvision_weights_fill_every_resnet_parameter(name):
    source = _imagenet_state_dict(f'torchvision-resnet{name[1:]}')
    backbone, asked = _pretrained_backbone(name, source)
    assert asked == [IMAGENET[name]]
    own = backbone.state_dict()
    loaded = [k for k in own if not k.endswith('num_batches_tracked')]  # not in the release
    assert set(source) - set(own) == {'fc.weight', 'fc.bias'}
    assert set(loaded) <= set(source)
    for key in loaded:
        assert torch.equal(own[key], source[key]), key


def test_mmcls_weights_fill_mobilenet_v2_but_the_first_block_expansion():
    # mmcls's checkpoint: backbone.* (mmengine strips the prefix) and head.fc.*; its final
    # 320 -> 1280 conv (conv2) has no use in a segmentation encoder, and it has no
    # first-block expansion conv, so layer1_expand keeps its identity init (Dirac conv, BN
    # weight 1, bias 0, running statistics 0 / 1).
    source = _imagenet_state_dict('mmcls-mobilenet-v2')
    backbone, asked = _pretrained_backbone('mbv2', source)
    assert asked == ['https://download.openmmlab.com/mmclassification/v0/mobilenet_v2/'
                     'mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth']
    own = backbone.state_dict()
    stripped = {k[len('backbone.'):]: v for k, v in source.items() if k.startswith('backbone.')}
    norm = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')
    assert {k for k in stripped if k not in own} == {
        'conv2.conv.weight', *(f'conv2.bn.{t}' for t in norm)}
    not_covered = {k for k in own if k not in stripped}
    assert not_covered == {'layer1_expand.conv.weight', *(f'layer1_expand.bn.{t}' for t in norm)}
    for key in own:
        if key not in not_covered:
            assert torch.equal(own[key], stripped[key]), key
    expand = backbone.layer1_expand
    assert torch.equal(expand.conv.weight[:, :, 0, 0], torch.eye(32))
    assert torch.equal(expand.bn.weight, torch.ones(32))
    assert torch.equal(expand.bn.bias, torch.zeros(32))


def test_official_recipe():
    cfg = load_config(VOC.format('mbv2'))
    model = build_uninitialised(VOC.format('mbv2'))
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    head_params = {id(p) for p in model.decode_head.parameters()}
    lrs = {('decoder' if id(group['params'][0]) in head_params else 'encoder'): group['lr']
           for group in optim_wrapper.optimizer.param_groups}
    # the official MobileNet-v2 rates, twice the ResNet ones (5e-4 / 5e-3)
    assert lrs == {'encoder': 1e-3, 'decoder': pytest.approx(1e-2)}
    defaults = optim_wrapper.optimizer.defaults
    assert (type(optim_wrapper.optimizer).__name__, defaults['momentum'],
            defaults['weight_decay']) == ('SGD', 0.9, 1e-5)
    assert cfg.param_scheduler[0].type == 'PolyLR'
    # frozen encoder BN statistics in training mode
    model.train()
    bn = model.backbone.layer3[0].conv[0].bn
    before = bn.running_mean.clone()
    model.backbone(torch.randn(2, 3, 32, 32))
    assert not bn.training and torch.equal(bn.running_mean, before)


def _tiny_runner_config(config, data_root, work_dir, iters):
    cfg = load_config(config)
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.init_cfg = None  # no downloads in tests
    cfg.model.data_preprocessor.size = (64, 64)
    for step in cfg.train_dataloader.dataset.pipeline:
        if step.type == 'RandomResize':
            step.scale = (128, 64)
        elif step.type == 'RandomCrop':
            step.crop_size = (64, 64)
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.data_root = data_root
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=1000)
    cfg.param_scheduler[0].end = iters
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint.interval = 1000  # only the final checkpoint (save_last)
    cfg.env_cfg.cudnn_benchmark = False
    cfg.randomness = dict(seed=0)
    return cfg


class _SnapshotHead(Hook):
    """Keeps the decoder's weights as initialised, before the first iteration."""

    def before_train(self, runner):
        self.state = copy.deepcopy(runner.model.decode_head.state_dict())


def test_runner_trains_a_few_iterations(synthetic_root, tmp_path):
    cfg = _tiny_runner_config(CITYSCAPES.format('mbv2'), synthetic_root, tmp_path, iters=3)
    runner = Runner.from_cfg(cfg)
    snapshot = _SnapshotHead()
    runner.register_hook(snapshot)
    runner.train()
    assert runner.iter == 3
    assert math.isfinite(runner.message_hub.get_scalar('train/loss').current())
    groups = runner.optim_wrapper.optimizer.param_groups
    assert sorted({g['initial_lr'] for g in groups}) == [1e-3, pytest.approx(1e-2)]
    trained = runner.model.decode_head.state_dict()
    assert not torch.equal(trained['conv_seg.weight'], snapshot.state['conv_seg.weight'])
    assert not torch.equal(trained['stages.3.crp.convs.0.conv.weight'],
                           snapshot.state['stages.3.crp.convs.0.conv.weight'])
    # the final checkpoint loads back strictly through mmengine's (non-strict) loader
    fresh = build_segmentor(CITYSCAPES.format('mbv2'))
    with safe_checkpoint_loading():  # the Runner's checkpoint holds its message hub too
        load_checkpoint(fresh, str(tmp_path / 'iter_3.pth'), map_location='cpu')
    assert torch.equal(fresh.decode_head.conv_seg.weight, trained['conv_seg.weight'])


def test_head_on_the_toolbox_mobilenet_v2_trains():
    # The plain toolbox MobileNetV2 (no first-block expansion) with four 1/4..1/32 taps and
    # the head's generic layout: one stage per level, all 64 wide.
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='EncoderDecoder',
        data_preprocessor=dict(type='SegDataPreProcessor', size=(64, 64)),
        backbone=dict(type='MobileNetV2', out_indices=(1, 2, 4, 6)),
        decode_head=dict(type='LightWeightRefineNetHead', in_channels=[24, 32, 96, 320],
                         in_index=[0, 1, 2, 3], channels=64, num_classes=3)))
    model.init_weights()
    assert count_params(model.decode_head) == (
        (24 + 32 + 96 + 320) * 64 + 3 * 64 * 64  # input and stage output 1x1 convs
        + 4 * 4 * 64 * 64  # four CRP(64)
        + 9 * 64 * 3 + 3)  # classifier
    images = torch.randn(2, 3, 64, 64)
    label = torch.zeros(1, 64, 64, dtype=torch.long)
    label[:, :, 32:] = 1
    label[:, 40:] = 2
    samples = []
    for _ in range(2):
        sample = SegDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64)))
        sample.gt_sem_seg = PixelData(data=label.clone())
        samples.append(sample)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    losses = []
    for _ in range(4):
        loss = sum(v for k, v in model.loss(images, samples).items() if 'loss' in k)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(math.isfinite(v) for v in losses)
    assert losses[-1] < losses[0]
    model.eval()
    with torch.no_grad():
        assert model._forward(images).shape == (2, 3, 16, 16)


def test_metafile_matches_configs_and_counts():
    with open(osp.join(REPO, 'configs/lw_refinenet/metafile.yml')) as f:
        models = yaml.safe_load(f)['Models']
    configs = {osp.relpath(p, REPO)
               for p in glob.glob(osp.join(REPO, 'configs/lw_refinenet/*.py'))}
    assert {m['Config'] for m in models} == configs
    # the counts asserted above, 21 classes on VOC and 2 * 2,305 fewer with 19 on Cityscapes
    voc = dict(r50=27_357_525, r101=46_349_653, r152=61_993_301, mbv2=3_284_565)
    for model in models:
        backbone = model['Name'].split('_')[1]
        offset = 0 if 'voc12aug' in model['Name'] else 2 * CLASSIFIER_PER_CLASS
        assert model['Metadata']['Parameters'] == voc[backbone] - offset, model['Name']
