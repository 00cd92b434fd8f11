"""KeptPixelsCrossEntropyLoss: with mmseg's OHEMPixelSampler it is the official OhemCELoss,
the mean cross-entropy over the kept pixels."""
import math

import pytest
import torch
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS, TASK_UTILS

from tolerances import assert_within_rounding


class _Context:
    ignore_index = 255


def _hand_case():
    """2 classes, 1x1x4 pixels: logits chosen so that p(gt) is known by hand."""
    # pixel: logits (l0, l1), label -> p(gt) = sigmoid(l_gt - l_other)
    logits = torch.tensor([[0., 0.], [2., 0.], [0., 3.], [1., 0.]]).T.reshape(1, 2, 1, 4)
    label = torch.tensor([[[0, 1, 1, 255]]])
    return logits, label


def test_mean_over_kept_pixels_by_hand():
    logits, label = _hand_case()
    # p(gt): 0.5, sigmoid(-2) = 0.119, sigmoid(3) = 0.953, ignored -> with thresh 0.7 the
    # sampler keeps pixels 0 and 1 (min_kept 2 does not add any)
    sampler = TASK_UTILS.build(dict(type='OHEMPixelSampler', thresh=0.7, min_kept=2),
                               default_args=dict(context=_Context()))
    weight = sampler.sample(logits, label.unsqueeze(1))
    assert weight.tolist() == [[[1., 1., 0., 0.]]]
    kept = [math.log(2.), math.log(1 + math.exp(2.))]  # -log p(gt) of pixels 0 and 1
    expected = torch.tensor(sum(kept) / 2, dtype=torch.float64)
    loss = MODELS.build(dict(type='KeptPixelsCrossEntropyLoss'))
    got = loss(logits, label, weight=weight, ignore_index=255)
    # float32 log-softmax over 2 classes, then a 2-term sum and one division by 2 (+ eps)
    assert_within_rounding(got, expected, depth=3, fan_in=2)
    # mmseg's own cross-entropy divides the same sum by all 4 pixels (3 non-ignored)
    diluted = CrossEntropyLoss()(logits, label, weight=weight, ignore_index=255)
    assert_within_rounding(diluted, expected * 2 / 4, depth=3, fan_in=2)


def test_random_batch_against_a_float64_reference():
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 8, 8) * 3
    label = torch.randint(0, 5, (2, 8, 8))
    label[0, :2] = 255
    sampler = TASK_UTILS.build(dict(type='OHEMPixelSampler', thresh=0.7, min_kept=20),
                               default_args=dict(context=_Context()))
    weight = sampler.sample(logits, label.unsqueeze(1))
    mask = weight.bool()
    assert 0 < mask.sum() < (label != 255).sum()  # some, not all valid pixels kept
    ref_pixel = torch.nn.functional.cross_entropy(
        logits.double(), label, ignore_index=255, reduction='none')
    expected = ref_pixel[mask].mean()
    got = MODELS.build(dict(type='KeptPixelsCrossEntropyLoss'))(
        logits, label, weight=weight, ignore_index=255)
    assert_within_rounding(got, expected, depth=2, fan_in=int(mask.sum()))


def test_class_weight_and_fallbacks():
    logits, label = _hand_case()
    weight = torch.tensor([[[1., 1., 0., 0.]]])
    cw = [1., 3.]
    got = MODELS.build(dict(type='KeptPixelsCrossEntropyLoss', class_weight=cw))(
        logits, label, weight=weight, ignore_index=255)
    # PyTorch's weighted mean over the kept pixels: sum(w_c * l) / sum(w_c)
    expected = torch.tensor((1 * math.log(2.) + 3 * math.log(1 + math.exp(2.))) / 4,
                            dtype=torch.float64)
    assert_within_rounding(got, expected, depth=3, fan_in=4)
    # without weight: mmseg's CrossEntropyLoss
    ours = MODELS.build(dict(type='KeptPixelsCrossEntropyLoss', avg_non_ignore=True))
    theirs = CrossEntropyLoss(avg_non_ignore=True)
    assert torch.equal(ours(logits, label, ignore_index=255),
                       theirs(logits, label, ignore_index=255))
    with pytest.raises(ValueError):
        MODELS.build(dict(type='KeptPixelsCrossEntropyLoss', use_sigmoid=True))


def test_class_weights_with_ignored_pixels_and_no_sampler():
    """PyTorch's weighted mean over the non-ignored pixels (mmseg 1.2.2's cross_entropy
    indexes the class weights with the ignore label there and fails)."""
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 8, 8) * 3
    label = torch.randint(0, 5, (2, 8, 8))
    label[0, :2] = 255
    cw = [0.5, 1.0, 2.0, 4.0, 8.0]
    expected = torch.nn.functional.cross_entropy(
        logits.double(), label, weight=torch.tensor(cw, dtype=torch.float64), ignore_index=255)
    got = MODELS.build(dict(type='KeptPixelsCrossEntropyLoss', class_weight=cw))(
        logits, label, ignore_index=255)
    assert_within_rounding(got, expected, depth=2, fan_in=int((label != 255).sum()))


def test_shelfnet_lw_configs_use_it_with_the_sampler():
    from mmengine.config import Config
    from helpers import REPO
    for name in ('shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py',
                 'shelfnet34-lw_2xb7-80k_cityscapes-1024x1024.py'):
        head = Config.fromfile(f'{REPO}/configs/shelfnet/{name}').model.decode_head
        assert head.loss_decode.type == 'KeptPixelsCrossEntropyLoss'
        assert head.sampler == dict(type='OHEMPixelSampler', thresh=0.7, min_kept=65536)
