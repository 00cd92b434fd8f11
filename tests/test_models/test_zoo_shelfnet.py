"""The ShelfNet configs through the shared segmentor checks, exact counts and a Runner run.

How the counts are derived (all with BN; the issue's targets come from the official code
with BN + LeakyReLU in place of InPlace-ABN):

* ShelfNet18-lw, 19 classes: torchvision ResNet-18 without fc 11,176,512 + laterals
  172,928 + decoder column 1,165,696 + ladder column 1,757,184 + main classifier 47,936
  = 14,320,256 on the inference path; + two auxiliary classifiers 243,328 = 14,563,584
  (tests/test_models/test_decode_heads/test_shelf_head.py adds the head up by hand).
* ShelfNet50, 21 classes: ResNet-50 23,508,032 + laterals 1,394,560 + decoder 4,686,976 +
  ladder 7,049,728 + 1x1 classifier 1,365 = 36,640,661 inference; + SE layer 10,773 + FCN
  auxiliary head 2,365,205 = 39,016,639. The official model also builds the decoder's
  unused `inconv` S-Block(64) (37,184): 39,016,639 + 37,184 = 39,053,823, the issue's figure.
* The other variants change only the terms named in ``VARIANTS`` below.
"""
import copy

import pytest
import torch
from mmengine.runner import Runner

from helpers import (SegmentorTestBase, build_segmentor, count_params, load_config,
                     replace_sync_bn, strip_pretrained)

LW18 = 'configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py'
R50_VOC = 'configs/shelfnet/shelfnet50_4xb4-40k_voc12aug-512x512.py'
MOBILENET = 'configs/shelfnet/shelfhead_mobilenet-v2_2xb8-80k_cityscapes-1024x1024.py'

_PROTOTYPES = {}


def training_only_params(model) -> int:
    """Parameters that only training uses: auxiliary classifiers, SE layer, aux head."""
    head = model.decode_head
    total = count_params(head.aux_classifiers)
    if head.use_se_loss:
        total += count_params(head.se_layer)
    if getattr(model, 'auxiliary_head', None) is not None:
        total += count_params(model.auxiliary_head)
    return total


def params_reached_in_eval(model, h=64, w=64) -> int:
    """Parameters that receive a gradient from the eval-mode logits: the inference path."""
    model.eval().zero_grad()
    model._forward(torch.randn(1, 3, h, w)).sum().backward()
    return sum(p.numel() for p in model.parameters() if p.grad is not None)


class CachedBuild(SegmentorTestBase):
    """Build each config once per session and hand out copies (builds are the slow part)."""
    inference_params = None

    def build(self):
        if self.config not in _PROTOTYPES:
            _PROTOTYPES[self.config] = build_segmentor(self.config)
        return copy.deepcopy(_PROTOTYPES[self.config])

    def test_inference_path_parameter_count(self):
        model = self.build()
        assert count_params(model) - training_only_params(model) == self.inference_params
        assert params_reached_in_eval(model) == self.inference_params


class TestShelfNet18LW(CachedBuild):
    config = LW18
    output_stride = 8
    exact_params = 14_563_584  # with the two training-only auxiliary classifiers
    inference_params = 14_320_256

    def test_backbone_is_torchvision_resnet18_without_fc(self):
        assert count_params(self.build().backbone) == 11_176_512

    def test_backbone_activates_where_inplace_abn_does(self):
        backbone = self.build().backbone
        assert type(backbone).__name__ == 'ShelfNetResNet'
        block = backbone.layer2[0]
        assert [type(m).__name__ for m in (backbone.act, block.act, block.out_act)] == [
            'LeakyReLU', 'LeakyReLU', 'ReLU']
        assert backbone.act.negative_slope == block.act.negative_slope == 0.01

    def test_training_forward_gives_main_and_aux_logits(self):
        model = self.build().train()
        outs = model._forward(torch.randn(2, 3, 64, 128))
        assert [o.shape for o in outs] == [(2, 19, 8, 16), (2, 19, 4, 8), (2, 19, 2, 4)]
        out = model.eval()._forward(torch.randn(2, 3, 64, 128))
        assert isinstance(out, torch.Tensor) and out.shape == (2, 19, 8, 16)


class TestShelfNet50VOC(CachedBuild):
    config = R50_VOC
    output_stride = 4
    exact_params = 39_016_639  # with SE layer and FCN auxiliary head
    inference_params = 36_640_661

    def test_official_count_differs_by_the_unused_s_block_only(self):
        s_block_64 = 9 * 64 * 64 + 5 * 64
        assert s_block_64 == 37_184
        assert count_params(self.build()) + s_block_64 == 39_053_823

    def test_training_losses(self):
        from mmengine.structures import PixelData
        from mmseg.structures import SegDataSample
        model = self.build().train()
        data = []
        for _ in range(2):
            s = SegDataSample(metainfo=dict(img_shape=(64, 64), pad_shape=(64, 64)))
            s.gt_sem_seg = PixelData(data=torch.randint(0, 21, (1, 64, 64)))
            data.append(s)
        losses = model.loss(torch.randn(2, 3, 64, 64), data)
        assert {'decode.loss_ce', 'decode.loss_se', 'aux.loss_ce'} <= set(losses)


class TestShelfHeadOnMobileNetV2(CachedBuild):
    config = MOBILENET
    output_stride = 8
    # MobileNetV2 1,811,712 + ShelfNet18-lw head with 32/96/320 -> 64/128/256 laterals
    # (97,152 instead of 172,928): 1,811,712 + 3,143,744 - 75,776 = 4,879,680; + aux 243,328
    exact_params = 5_123_008
    inference_params = 4_879_680


# config: (all parameters, inference path). Derivations relative to the families above:
# 34-lw: ResNet-34 21,284,672 + no laterals + 128-wide shelf (decoder 4,657,920, ladder
#   7,020,544) + main 169,600 = 33,132,736; aux 158,528 + 305,984 -> 33,597,248.
# R101: ResNet-101 42,500,160 instead of ResNet-50 23,508,032 (+18,992,128).
# Cityscapes (19 classes): 1x1 classifier 1,235, SE 9,747, FCN aux 2,364,691.
VARIANTS = {
    'configs/shelfnet/shelfnet34-lw_2xb7-80k_cityscapes-1024x1024.py': (33_597_248,
                                                                         33_132_736),
    'configs/shelfnet/shelfnet101_4xb4-40k_voc12aug-512x512.py': (58_008_767, 55_632_789),
    'configs/shelfnet/shelfnet50_4xb2-80k_cityscapes-768x768.py': (39_014_969, 36_640_531),
    'configs/shelfnet/shelfnet101_4xb2-80k_cityscapes-768x768.py': (58_007_097, 55_632_659),
}


@pytest.mark.parametrize('config', sorted(VARIANTS))
def test_variant_parameter_counts(config):
    total, inference = VARIANTS[config]
    model = build_segmentor(config)
    assert count_params(model) == total
    assert total - training_only_params(model) == inference


def test_few_iterations_through_the_runner(synthetic_root, tmp_path):
    cfg = load_config(LW18)
    strip_pretrained(cfg.model)
    replace_sync_bn(cfg.model)
    crop = (64, 128)
    cfg.work_dir = str(tmp_path)
    cfg.model.data_preprocessor.size = crop
    loader = cfg.train_dataloader
    loader.update(batch_size=2, num_workers=0, persistent_workers=False)
    loader.dataset.data_root = synthetic_root
    steps = {t.type: t for t in loader.dataset.pipeline}
    assert 'RandomChoiceResize' in steps and 'ColorJitter' in steps  # the official ones
    steps['RandomChoiceResize'].scales = [(crop[1], crop[0])]
    steps['RandomCrop'].crop_size = crop
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=1000)
    for key in ('val_dataloader', 'val_evaluator', 'val_cfg', 'test_dataloader',
                'test_evaluator', 'test_cfg'):
        cfg[key] = None
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=1),
        dict(type='PolyLR', eta_min=0, power=0.9, by_epoch=False, begin=1, end=2)
    ]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=2)
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0)
    runner = Runner.from_cfg(cfg)
    before = copy.deepcopy(runner.model.decode_head.conv_seg.weight.detach())
    runner.train()
    assert runner.iter == 2
    assert (tmp_path / 'iter_2.pth').exists()
    assert not torch.equal(before, runner.model.decode_head.conv_seg.weight.detach())
    for key in ('decode.loss_ce', 'decode.aux_1.loss_ce', 'decode.aux_2.loss_ce'):
        values = runner.message_hub.get_scalar(f'train/{key}').data[0]
        assert len(values) == 2 and all(v == v and v > 0 for v in values), key


IMAGENET = {
    LW18: 'https://download.pytorch.org/models/resnet18-5c106cde.pth',
    'configs/shelfnet/shelfnet34-lw_2xb7-80k_cityscapes-1024x1024.py':
    'https://download.pytorch.org/models/resnet34-333f7ec4.pth',
    R50_VOC: 'https://download.pytorch.org/models/resnet50-19c8e357.pth',
    'configs/shelfnet/shelfnet50_4xb2-80k_cityscapes-768x768.py':
    'https://download.pytorch.org/models/resnet50-19c8e357.pth',
    'configs/shelfnet/shelfnet101_4xb4-40k_voc12aug-512x512.py':
    'https://download.pytorch.org/models/resnet101-5d3b4d8f.pth',
    'configs/shelfnet/shelfnet101_4xb2-80k_cityscapes-768x768.py':
    'https://download.pytorch.org/models/resnet101-5d3b4d8f.pth',
}


@pytest.mark.parametrize('config', sorted(IMAGENET))
def test_imagenet_weights_are_plain_http_urls(config):
    # torchvision's releases (the ones the official code loads), fetched by mmengine without
    # torchvision; tests/test_models/test_backbones/test_shelfnet_resnet.py loads that layout
    init = load_config(config).model.backbone.init_cfg
    assert (init.type, init.checkpoint) == ('Pretrained', IMAGENET[config])
    real_time = '-lw_' in config
    assert load_config(config).model.backbone.type == (
        'ShelfNetResNet' if real_time else 'ResNet')
