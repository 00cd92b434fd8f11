import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.runner.checkpoint import load_state_dict as mmengine_load_state_dict

from lrseg_mm.models.decode_heads import LightWeightRefineNetHead

from helpers import count_params
from tolerances import assert_within_rounding

# The two official layouts as head arguments (configs/_base_/models/lw-refinenet_*.py).
RESNET = dict(in_channels=[256, 512, 1024, 2048], in_index=[0, 1, 2, 3], channels=256,
              stage_channels=(256, 256, 256, 512), input_convs=(2, 2, 2, 1),
              input_dropout_ratios=(0., 0., 0.5, 0.5), align_corners=True)
MBV2 = dict(in_channels=[24, 32, 64, 96, 160, 320], in_index=[0, 1, 2, 3, 4, 5], channels=256,
            fuse_groups=((0, ), (1, ), (2, 3), (4, 5)), act_cfg=dict(type='ReLU6'),
            align_corners=True)
RESNET_STRIDES = (4, 8, 16, 32)
MBV2_STRIDES = (4, 8, 16, 16, 32, 32)


def make_head(layout, num_classes=21, **kwargs):
    return LightWeightRefineNetHead(**{**layout, 'num_classes': num_classes, **kwargs})


def features(head, strides, h=64, w=96, scale=1.):
    return [scale * torch.randn(1, c, -(-h // s), -(-w // s))
            for c, s in zip(head.in_channels, strides)]


@pytest.mark.parametrize('num_classes', [19, 21, 40])
def test_decoder_parameter_counts(num_classes):
    # ResNet: 1x1 convs 2048*512 + 1024*256 + 512*256 + 256*256 (dimred) + 3 * 256*256
    # (adapt) + 512*256 + 2 * 256*256 (stage outputs) + CRP(512) 4 * 512^2 + 3 CRP(256)
    # 3 * 4 * 256^2 = 3,801,088; classifier 3x3 with bias: 256 * 9 * N + N = 2,305 N.
    assert count_params(make_head(RESNET, num_classes)) == 3_801_088 + 2_305 * num_classes
    # MobileNet-v2: (24 + 32 + 64 + 96 + 160 + 320) * 256 + 3 * 256^2 (adapt) + 4 CRP(256)
    # = 178,176 + 196,608 + 1,048,576 = 1,423,360; same classifier.
    assert count_params(make_head(MBV2, num_classes)) == 1_423_360 + 2_305 * num_classes


@pytest.mark.parametrize('layout, strides', [(RESNET, RESNET_STRIDES), (MBV2, MBV2_STRIDES)])
@pytest.mark.parametrize('size', [(64, 96), (97, 131)])
def test_logits_at_the_finest_input(layout, strides, size):
    head = make_head(layout).eval()
    feats = features(head, strides, *size)
    assert head(feats).shape == (1, 21, *feats[0].shape[2:])


def _conv(conv_module, x):
    return F.conv2d(x, conv_module.conv.weight)


def _crp(block, x):
    top = x
    for conv in block.convs:
        top = _conv(conv, F.max_pool2d(top, 5, stride=1, padding=2))
        x = x + top
    return x


def _up(x, like):
    # the official nn.Upsample(mode='bilinear', align_corners=True)
    return F.interpolate(x, size=like.shape[2:], mode='bilinear', align_corners=True)


def _classify(head, x):
    return F.conv2d(x, head.conv_seg.weight, head.conv_seg.bias, padding=1)


def test_resnet_layout_follows_the_official_dataflow():
    # The official ResNetLW.forward written out with the head's weights: ReLU(1x1 2048->512)
    # -> CRP -> 1x1 -> up; each finer level: two 1x1 convs, + coarser, ReLU, CRP, 1x1, up.
    # float64 on both sides: only a different dataflow, not float32 summation order, differs
    torch.manual_seed(0)
    head = make_head(RESNET).eval().double()
    l1, l2, l3, l4 = (f.double() for f in features(head, RESNET_STRIDES, 33, 47, scale=10.))
    s = head.stages
    x4 = _crp(s[3]['crp'], F.relu(_conv(s[3]['inputs'][0][0], l4)))
    x4 = _up(_conv(s[3]['out_conv'], x4), l3)
    x3 = _conv(s[2]['inputs'][0][1], _conv(s[2]['inputs'][0][0], l3)) + x4
    x3 = _up(_conv(s[2]['out_conv'], _crp(s[2]['crp'], F.relu(x3))), l2)
    x2 = _conv(s[1]['inputs'][0][1], _conv(s[1]['inputs'][0][0], l2)) + x3
    x2 = _up(_conv(s[1]['out_conv'], _crp(s[1]['crp'], F.relu(x2))), l1)
    x1 = _conv(s[0]['inputs'][0][1], _conv(s[0]['inputs'][0][0], l1)) + x2
    expected = _classify(head, _crp(s[0]['crp'], F.relu(x1)))
    # 4 stages of (2 convs + 4 CRP convs + out conv), each summing up to 2048 terms
    assert_within_rounding(head([l1, l2, l3, l4]), expected, depth=28, fan_in=2048)


def test_mbv2_layout_follows_the_official_dataflow():
    # The official MBv2.forward: ReLU6(conv8(l8) + conv7(l7)) -> CRP -> adapt -> up;
    # ReLU6(conv5(l5) + conv6(l6) + up) -> ...; inputs scaled so ReLU6 clips.
    torch.manual_seed(0)
    head = make_head(MBV2).eval().double()
    assert isinstance(head.act, nn.ReLU6)
    l3, l4, l5, l6, l7, l8 = (f.double()
                              for f in features(head, MBV2_STRIDES, 33, 47, scale=10.))
    s = head.stages
    x7 = F.relu6(_conv(s[3]['inputs'][1][0], l8) + _conv(s[3]['inputs'][0][0], l7))
    x7 = _up(_conv(s[3]['out_conv'], _crp(s[3]['crp'], x7)), l6)
    x5 = F.relu6(_conv(s[2]['inputs'][0][0], l5) + _conv(s[2]['inputs'][1][0], l6) + x7)
    x5 = _up(_conv(s[2]['out_conv'], _crp(s[2]['crp'], x5)), l4)
    x4 = F.relu6(x5 + _conv(s[1]['inputs'][0][0], l4))
    x4 = _up(_conv(s[1]['out_conv'], _crp(s[1]['crp'], x4)), l3)
    x3 = F.relu6(_conv(s[0]['inputs'][0][0], l3) + x4)
    expected = _classify(head, _crp(s[0]['crp'], x3))
    # float64 on both sides; 4 stages of (input convs + 4 CRP convs + out conv), fan-in 320
    assert_within_rounding(head([l3, l4, l5, l6, l7, l8]), expected, depth=28, fan_in=320)


def test_dropout_only_on_the_coarse_resnet_inputs():
    head = make_head(RESNET)
    assert [getattr(m, 'p', 0.) for m in head.input_dropouts] == [0., 0., 0.5, 0.5]
    assert head.dropout is None  # no Dropout2d before the classifier
    feats = features(head, RESNET_STRIDES, 32, 32)
    torch.manual_seed(0)
    head.train()
    assert not torch.allclose(head(feats), head(feats))
    head.eval()
    assert torch.equal(head(feats), head(feats))


@pytest.mark.parametrize('kwargs, match', [
    (dict(input_transform=None, in_channels=256, in_index=0), 'multiple_select'),
    (dict(fuse_groups=((0, ), (1, 1), (2, 3))), 'exactly once'),
    (dict(fuse_groups=((0, ), (1, ), (2, ))), 'exactly once'),
    (dict(stage_channels=(128, 256, 256, 512)), 'stage_channels'),
    (dict(stage_channels=(256, 512)), 'stage_channels'),
    (dict(input_convs=(1, 1)), 'input_convs'),
    (dict(input_convs=0), 'input_convs'),
    (dict(input_dropout_ratios=(0.5, )), 'input_dropout_ratios'),
    (dict(classifier_kernel_size=2), 'classifier_kernel_size'),
])
def test_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_head(RESNET, **kwargs)


def test_rejects_inputs_of_different_sizes_in_one_stage():
    head = make_head(MBV2).eval()
    feats = features(head, (4, 8, 16, 32, 32, 32), 64, 64)  # 64 ch at 1/16, 96 at 1/32
    with pytest.raises(ValueError, match='share'):
        head(feats)


class TestCheckpointLoading:
    """The head loads with the caller's strictness, like any module."""

    def test_exact_state_dict_loads_strictly(self):
        head, other = make_head(MBV2), make_head(MBV2)
        head.load_state_dict(other.state_dict(), strict=True)
        assert torch.equal(head.conv_seg.weight, other.conv_seg.weight)

    def test_strict_load_still_names_a_missing_key(self):
        head = make_head(MBV2)
        state = head.state_dict()
        del state['stages.2.crp.convs.3.conv.weight']
        with pytest.raises(RuntimeError, match=r'stages\.2\.crp\.convs\.3\.conv\.weight'):
            mmengine_load_state_dict(head, state, strict=True)

    @pytest.mark.parametrize('layout', [RESNET, MBV2])
    def test_fine_tuning_from_another_number_of_classes(self, layout):
        # The papers' COCO -> VOC recipe: a 21-class checkpoint into an 11-class model through
        # mmengine's non-strict load (what load_from does); all but the classifier loads.
        torch.manual_seed(0)
        source = make_head(layout, num_classes=21)
        target = make_head(layout, num_classes=11)
        before = {k: v.clone() for k, v in target.state_dict().items()}
        mmengine_load_state_dict(target, source.state_dict(), strict=False)
        loaded = target.state_dict()
        for key, value in source.state_dict().items():
            if key.startswith('conv_seg.'):
                assert torch.equal(loaded[key], before[key])  # kept, shapes differ
            else:
                assert torch.equal(loaded[key], value), key


def test_default_init_is_pytorch_conv_init():
    # Kaiming-uniform with a = sqrt(5) (PyTorch's Conv2d default, the official decoder's
    # init) bounds every weight by 1 / sqrt(fan_in); mmcv's ConvModule default (Kaiming-normal,
    # fan_out) exceeds it by far on the 2048 -> 512 conv and blows up the logits.
    torch.manual_seed(0)
    head = make_head(RESNET)
    head.init_weights()
    convs = [m for name, m in head.named_modules()
             if isinstance(m, nn.Conv2d) and name != 'conv_seg']
    assert len(convs) == 7 + 4 * 4 + 3  # input convs, CRP convs, stage output convs
    for conv in convs:
        bound = conv.weight[0].numel() ** -0.5
        assert conv.weight.abs().max() <= bound
        assert conv.weight.abs().max() > 0.9 * bound  # uniform over the whole range
    assert abs(head.conv_seg.weight.std().item() - 0.01) < 1e-3
    head.eval()
    logits = head(features(head, RESNET_STRIDES, 64, 64))
    assert logits.abs().max() < 1.  # random N(0, 1) features give small initial logits
