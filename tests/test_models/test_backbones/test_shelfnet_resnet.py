"""ShelfNetResNet: torchvision layout, the official ShelfNet-lw activation placement, and the
torchvision ImageNet weights through mmengine's Pretrained init (download mocked)."""
import json
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmseg.models.backbones import ResNet

from lrseg_mm.models.backbones import ShelfNetResNet

from helpers import REPO, count_params, mocked_downloads

LAYOUTS = osp.join(REPO, 'tests/data/official_layouts')


def randomise_norms(model, seed=0):
    """BN statistics and affine parameters away from the identity (negative weights too)."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            m.running_mean.copy_(0.2 * torch.randn(c, generator=g))
            m.running_var.copy_(0.5 + torch.rand(c, generator=g))
            m.weight.data.copy_(0.3 + 0.5 * torch.randn(c, generator=g))
            m.bias.data.copy_(0.2 * torch.randn(c, generator=g))


@pytest.mark.parametrize('depth, params', [(18, 11_176_512), (34, 21_284_672)])
def test_parameter_counts_are_torchvision_without_fc(depth, params):
    # torchvision's resnet18 / resnet34 (11,689,512 / 21,797,672) less fc (512 * 1000 + 1000)
    assert params == {18: 11_689_512, 34: 21_797_672}[depth] - 513_000
    assert count_params(ShelfNetResNet(depth=depth)) == params


def test_outputs_and_strides():
    model = ShelfNetResNet(depth=18, out_indices=(0, 1, 2, 3)).eval()
    outs = model(torch.randn(1, 3, 64, 96))
    assert [tuple(o.shape[1:]) for o in outs] == [(64, 16, 24), (128, 8, 12), (256, 4, 6),
                                                  (512, 2, 3)]


def _reference(model, x):
    """The official Resnet18 forward (resnet.py of ShelfNet-lw) in float64, from the weights:
    InPlace-ABN's LeakyReLU(0.01) after the stem norm and each block's first norm, no
    activation after the second norm or the shortcut norm, ReLU after the sum."""
    def bn(m, t):
        return F.batch_norm(t, m.running_mean, m.running_var, m.weight, m.bias, False, 0.,
                            m.eps)

    x = F.conv2d(x, model.conv1.weight, stride=2, padding=3)
    x = F.max_pool2d(F.leaky_relu(bn(model.bn1, x), 0.01), 3, 2, 1)
    outs = []
    for i in range(4):
        for block in getattr(model, f'layer{i + 1}'):
            stride = block.conv1.stride
            r = F.leaky_relu(bn(block.bn1, F.conv2d(x, block.conv1.weight, stride=stride,
                                                    padding=1)), 0.01)
            r = bn(block.bn2, F.conv2d(r, block.conv2.weight, padding=1))
            s = x
            if block.downsample is not None:
                s = bn(block.downsample[1], F.conv2d(x, block.downsample[0].weight,
                                                     stride=stride))
            x = F.relu(r + s)
        outs.append(x)
    return outs[1:]


def test_official_activation_placement_in_float64():
    torch.manual_seed(0)
    model = ShelfNetResNet(depth=18).double().eval()
    model.init_weights()
    randomise_norms(model)
    x = torch.randn(2, 3, 64, 64, dtype=torch.float64)
    with torch.no_grad():
        for out, ref in zip(model(x), _reference(model, x)):
            # the same float64 operations in the same order: rounding-level agreement
            assert (out - ref).abs().max() <= 1e-12 * ref.abs().max()


def test_relu_variant_is_the_toolbox_resnet():
    # Same parameter names as mmseg's ResNet(style='pytorch') (torchvision's); with ReLU
    # everywhere the two compute the same function, the default LeakyReLU differs from it.
    torch.manual_seed(0)
    toolbox = ResNet(depth=18, out_indices=(1, 2, 3), style='pytorch')
    toolbox.init_weights()
    toolbox.eval()  # mmseg's ResNet.train returns None
    randomise_norms(toolbox)
    state = toolbox.state_dict()
    relu = ShelfNetResNet(depth=18, act_cfg=dict(type='ReLU')).eval()
    relu.load_state_dict(state, strict=True)
    leaky = ShelfNetResNet(depth=18).eval()
    leaky.load_state_dict(state, strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        for a, b, c in zip(toolbox(x), relu(x), leaky(x)):
            assert torch.equal(a, b)  # identical operations on identical weights
            assert (a - c).abs().max() > 1e-3 * a.abs().max()


def test_norm_eval_freezes_statistics():
    model = ShelfNetResNet(depth=18, norm_eval=True).train()
    before = model.layer1[0].bn1.running_mean.clone()
    model(torch.randn(2, 3, 64, 64))
    assert not model.layer1[0].bn1.training and model.layer1[0].conv1.training
    assert torch.equal(model.layer1[0].bn1.running_mean, before)


@pytest.mark.parametrize('kwargs, match', [
    (dict(depth=50), 'depth must be one of'),
    (dict(out_indices=(4, )), 'out_indices'),
    (dict(out_indices=()), 'out_indices'),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ShelfNetResNet(**kwargs)


def torchvision_state_dict(depth, seed=0):
    """Random tensors in the exact key layout of torchvision's ImageNet release."""
    g = torch.Generator().manual_seed(seed)
    with open(osp.join(LAYOUTS, f'torchvision-resnet{depth}.json')) as f:
        return {k: torch.randn(shape, generator=g) for k, shape in json.load(f)}


@pytest.mark.parametrize('depth', [18, 34])
def test_torchvision_imagenet_weights_fill_every_parameter(depth):
    url = {18: 'https://download.pytorch.org/models/resnet18-5c106cde.pth',
           34: 'https://download.pytorch.org/models/resnet34-333f7ec4.pth'}[depth]
    source = torchvision_state_dict(depth)
    model = ShelfNetResNet(depth=depth, init_cfg=dict(type='Pretrained', checkpoint=url))
    with mocked_downloads(source) as asked:
        model.init_weights()
    assert asked == [url]
    own = model.state_dict()
    loaded = [k for k in own if not k.endswith('num_batches_tracked')]
    assert set(source) - set(own) == {'fc.weight', 'fc.bias'}  # only the classifier unused
    assert set(loaded) <= set(source)  # and every parameter and statistic comes from it
    for key in loaded:
        assert torch.equal(own[key], source[key]), key
