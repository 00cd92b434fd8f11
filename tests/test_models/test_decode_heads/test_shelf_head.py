import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from lrseg_mm.models.decode_heads import ShelfHead

from helpers import count_params
from tolerances import assert_within_rounding

LW18 = dict(in_channels=(128, 256, 512), in_index=(0, 1, 2), channels=64,
            shelf_channels=(64, 128, 256), num_classes=19, dropout_ratio=0.0)
HEAVY50 = dict(in_channels=(256, 512, 1024, 2048), in_index=(0, 1, 2, 3), channels=64,
               shelf_channels=(64, 128, 256, 512), up_mode='deconv', num_convs=0,
               seg_kernel_size=1, seg_bias=True, aux_levels=(), sblock_dropout_ratio=0.25,
               use_se_loss=True, num_classes=21, dropout_ratio=0.0)


def s_block(c):
    return 9 * c * c + 5 * c  # shared 3x3 conv with bias + two BNs


def conv_bn(c_in, c_out, k):
    return k * k * c_in * c_out + 2 * c_out  # bias-free conv + BN


def arm(c_in, c_out):
    return conv_bn(c_in, c_out, 3) + conv_bn(c_out, c_out, 1)  # 3x3 + attention 1x1


def down_conv(c_in, c_out):
    return 9 * c_in * c_out + c_out  # strided 3x3 with bias, no norm


def deconv(c_in, c_out):
    return 9 * c_in * c_out + c_out


def small_head(**kwargs):
    cfg = dict(in_channels=(16, 32, 64), in_index=(0, 1, 2), channels=8,
               shelf_channels=(8, 16, 32), aux_channels=8, num_classes=5, dropout_ratio=0.0)
    cfg.update(kwargs)
    return ShelfHead(**cfg)


def feats(sizes=((16, 24), (8, 12), (4, 6)), channels=(16, 32, 64), batch=2):
    return [torch.randn(batch, c, h, w) for c, (h, w) in zip(channels, sizes)]


def samples(h, w, num_classes=5, batch=2):
    out = []
    for _ in range(batch):
        s = SegDataSample(metainfo=dict(img_shape=(h, w), pad_shape=(h, w)))
        s.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, (1, h, w)))
        out.append(s)
    return out


def test_shelfnet18_lw_head_parameters_by_hand():
    head = ShelfHead(**LW18)
    laterals = conv_bn(128, 64, 1) + conv_bn(256, 128, 1) + conv_bn(512, 256, 1)
    up = arm(256, 128) + arm(128, 64) + conv_bn(128, 128, 3) + conv_bn(64, 64, 3)
    decoder = s_block(256) + up
    ladder = (s_block(64) + s_block(64) + s_block(128) + down_conv(64, 128)
              + down_conv(128, 256) + s_block(256) + up)
    main = conv_bn(64, 64, 3) + 9 * 64 * 19  # 3x3 ConvBNAct + bias-free 3x3 classifier
    aux = conv_bn(128, 64, 3) + conv_bn(256, 64, 3) + 2 * 9 * 64 * 19
    assert (laterals, decoder, ladder, main, aux) == (172_928, 1_165_696, 1_757_184, 47_936,
                                                      243_328)
    assert count_params(head) == laterals + decoder + ladder + main + aux
    assert count_params(head.aux_classifiers) == aux
    # ResNet-18 without fc (11,176,512) + this head's inference path = the target
    assert 11_176_512 + laterals + decoder + ladder + main == 14_320_256


def test_shelfnet50_head_parameters_by_hand():
    head = ShelfHead(**HEAVY50)
    widths = (64, 128, 256, 512)
    laterals = sum(conv_bn(4 * c, c, 1) for c in widths)
    up = sum(deconv(2 * c, c) + s_block(c) for c in widths[:-1])
    decoder = s_block(512) + up
    ladder = (s_block(64) + sum(s_block(c) + down_conv(c, 2 * c) for c in widths[:-1])
              + s_block(512) + up)
    main = 64 * 21 + 21
    se = 512 * 21 + 21
    assert (laterals, decoder, ladder) == (1_394_560, 4_686_976, 7_049_728)
    assert count_params(head) == laterals + decoder + ladder + main + se
    assert count_params(head.se_layer) == se


def test_training_returns_main_and_aux_eval_returns_main_only():
    head = small_head()
    outs = head.train()(feats())
    assert isinstance(outs, tuple) and len(outs) == 3
    assert [o.shape for o in outs] == [(2, 5, 16, 24), (2, 5, 8, 12), (2, 5, 4, 6)]
    calls = []
    for m in head.aux_classifiers:
        m.register_forward_hook(lambda *args: calls.append(1))
    out = head.eval()(feats())
    assert isinstance(out, torch.Tensor) and out.shape == (2, 5, 16, 24)
    assert calls == []


def test_predict_uses_main_logits_even_in_training_mode():
    head = small_head().train()
    metas = [dict(img_shape=(32, 48), pad_shape=(32, 48))] * 2
    assert head.predict(feats(), metas, {}).shape == (2, 5, 32, 48)


@pytest.mark.parametrize('up_mode', ['arm', 'deconv'])
def test_odd_level_sizes(up_mode):
    # ResNet levels of a 97x131 image: 13x17, 7x9, 4x5 (not exact halves)
    head = small_head(up_mode=up_mode).eval()
    out = head(feats(((13, 17), (7, 9), (4, 5))))
    assert out.shape == (2, 5, 13, 17)


def test_cropped_deconv_equals_odd_output_size():
    head = small_head(up_mode='deconv').double()
    up = head.decoder_up_convs[0]
    x = torch.randn(1, 16, 4, 5, dtype=torch.float64)
    odd = F.conv_transpose2d(x, up.weight, up.bias, stride=2, padding=1, output_padding=0)
    assert odd.shape[-2:] == (7, 9)
    assert_within_rounding(up(x)[..., :7, :9], odd, depth=1, fan_in=16 * 9)


def test_no_shelf_channels_means_identity_laterals():
    head = small_head(in_channels=(8, 16, 32), shelf_channels=None, channels=12)
    assert head.lateral_convs is None
    assert head.shelf_channels == (8, 16, 32)
    out = head.eval()(feats(channels=(8, 16, 32)))
    assert out.shape == (2, 5, 16, 24)


def test_four_level_deconv_head_with_se_output():
    head = small_head(in_channels=(8, 16, 32, 64), in_index=(0, 1, 2, 3),
                      shelf_channels=(4, 8, 16, 32), channels=4, up_mode='deconv', num_convs=0,
                      seg_kernel_size=1, seg_bias=True, aux_levels=(), use_se_loss=True)
    x = feats(((32, 40), (16, 20), (8, 10), (4, 5)), channels=(8, 16, 32, 64))
    main, se = head.train()(x)
    assert main.shape == (2, 5, 32, 40) and se.shape == (2, 5)
    assert head.eval()(x).shape == (2, 5, 32, 40)


def test_losses_of_every_output_and_aux_weight():
    torch.manual_seed(0)
    head = small_head().train()
    x, data = feats(), samples(32, 48)
    logits = head(x)
    losses = head.loss_by_feat(logits, data)
    assert set(losses) == {'loss_ce', 'acc_seg', 'aux_1.loss_ce', 'aux_2.loss_ce'}
    label = torch.stack([s.gt_sem_seg.data for s in data]).squeeze(1)
    aux = F.interpolate(logits[1], (32, 48), mode='bilinear', align_corners=False)
    # a float32 mean over 2 x 32 x 48 pixels of log-softmax terms
    assert_within_rounding(losses['aux_1.loss_ce'], F.cross_entropy(aux.double(), label),
                           depth=3, fan_in=2 * 32 * 48)
    head.aux_loss_weight = 0.5
    halved = head.loss_by_feat(logits, data)
    assert torch.equal(halved['aux_2.loss_ce'], 0.5 * losses['aux_2.loss_ce'])  # x0.5 is exact
    assert torch.equal(halved['loss_ce'], losses['loss_ce'])


def test_ohem_sampler_runs_once_per_output():
    head = small_head(sampler=dict(type='OHEMPixelSampler', thresh=0.7, min_kept=100)).train()
    calls = []
    original = head.sampler.sample
    head.sampler.sample = lambda logit, label: calls.append(1) or original(logit, label)
    head.loss_by_feat(head(feats()), samples(32, 48))
    assert len(calls) == 3


def test_se_loss_is_bce_against_class_presence():
    head = small_head(aux_levels=(), use_se_loss=True).train()
    data = samples(32, 48)
    for s, present in zip(data, ([0, 3], [1])):
        s.gt_sem_seg.data = torch.full((1, 32, 48), present[0])
        s.gt_sem_seg.data[..., :4, :4] = present[-1]
        s.gt_sem_seg.data[..., -1, -1] = 255  # ignored pixels are not a class
    main, se = head(feats())
    losses = head.loss_by_feat((main, se), data)
    target = torch.tensor([[1., 0, 0, 1, 0], [0, 1, 0, 0, 0]])
    expected = 0.2 * F.binary_cross_entropy_with_logits(se.double(), target.double())
    assert_within_rounding(losses['loss_se'], expected, depth=3, fan_in=se.numel())


def test_wrong_number_of_outputs_is_explained():
    head = small_head().train()
    with pytest.raises(ValueError, match='expects 3 outputs'):
        head.loss_by_feat(head(feats())[0], samples(32, 48))


@pytest.mark.parametrize('kwargs, match', [
    (dict(up_mode='bilinear'), 'up_mode'),
    (dict(aux_levels=(0, )), 'aux_levels'),
    (dict(aux_levels=(3, )), 'aux_levels'),
    (dict(num_convs=0, channels=16), 'num_convs=0'),
    (dict(shelf_channels=(8, 16)), 'shelf_channels'),
    (dict(seg_kernel_size=2), 'seg_kernel_size'),
    (dict(input_transform='resize_concat'), 'multiple_select'),
    (dict(in_channels=(16, ), in_index=(0, )), 'at least two'),
    (dict(in_index=(0, 1)), 'in_index'),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        small_head(**kwargs)


def test_fine_tuning_from_another_number_of_classes():
    # A 21-class checkpoint into an 11-class head through mmengine's non-strict load (what
    # load_from does): everything loads but the class-sized convs of the main and auxiliary
    # classifiers, which keep their initialisation.
    from mmengine.runner.checkpoint import load_state_dict
    torch.manual_seed(0)
    source = ShelfHead(**{**LW18, 'num_classes': 21})
    target = ShelfHead(**{**LW18, 'num_classes': 11})
    before = {k: v.clone() for k, v in target.state_dict().items()}
    load_state_dict(target, source.state_dict(), strict=False)
    class_sized = {'conv_seg.weight', 'aux_classifiers.0.1.weight', 'aux_classifiers.1.1.weight'}
    for key, value in source.state_dict().items():
        if key in class_sized:
            assert value.shape[0] == 21 and torch.equal(target.state_dict()[key], before[key])
        else:
            assert torch.equal(target.state_dict()[key], value), key
