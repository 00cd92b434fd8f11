"""Write the key names and shapes of the official checkpoints as JSON fixtures.

Run ``python tests/data/official_layouts/generate.py`` from the repository root; the test
``tests/test_tools/test_model_converters.py`` checks that the JSON files are what this script
writes. The layouts are facts about other code bases, written down here from reading their
module definitions, in the order their constructors register parameters and buffers (the
order of ``state_dict()``). None of their code is used:

* ShelfNet18-lw / 34-lw, github.com/juntang-zhuang/ShelfNet-lw-cityscapes
  (``ShelfNet18_realtime/shelfnet.py``, ``ShelfNet34_non_realtime/shelfnet.py``, their
  ``resnet.py`` and ``ShelfBlock.py``): InPlace-ABN layers hold weight, bias, running_mean
  and running_var (mapillary/inplace_abn ``modules/bn.py``); ``nn.BatchNorm2d`` adds
  num_batches_tracked (PyTorch >= 0.4.1, the version the official code needs).
* RF-LW-ResNet-50/101/152 and RF-LW-MobileNet-v2, github.com/DrSleep/light-weight-refinenet
  (``models/resnet.py``, ``models/mobilenet.py``, ``utils/layer_factory.py``).
* ImageNet checkpoints the configs start from: torchvision's ResNet releases
  (``resnet18-5c106cde.pth`` ..., saved before PyTorch 0.4.1: no num_batches_tracked) and
  mmcls's ``mobilenet_v2_batch256_imagenet_20200708-3b2dc3af.pth`` (``backbone.*`` with
  num_batches_tracked, ``head.fc.*``).
"""
import json
import os.path as osp

HERE = osp.dirname(osp.abspath(__file__))


class Layout:
    """Collects (name, shape) in registration order."""

    def __init__(self):
        self.entries = []

    def add(self, name, shape):
        self.entries.append((name, list(shape)))

    def conv(self, name, c_in, c_out, k, bias=False, groups=1):
        self.add(f'{name}.weight', (c_out, c_in // groups, k, k))
        if bias:
            self.add(f'{name}.bias', (c_out, ))

    def abn(self, name, c):
        """InPlace-ABN / InPlaceABNSync: parameters, then the two running buffers."""
        for t in ('weight', 'bias', 'running_mean', 'running_var'):
            self.add(f'{name}.{t}', (c, ))

    def bn(self, name, c, tracked=True):
        self.abn(name, c)
        if tracked:
            self.add(f'{name}.num_batches_tracked', ())


# ---------------------------------------------------------------- ShelfNet-lw (official)
def _shelf_resnet(lay, blocks):
    """resnet.py Resnet18/34: conv1, bn1 (ABN), layer1..4 of BasicBlock(conv1, bn1, conv2, bn2,
    downsample = Sequential(conv 1x1, ABN) when the shape changes)."""
    lay.conv('backbone.conv1', 3, 64, 7)
    lay.abn('backbone.bn1', 64)
    c_in = 64
    for stage, (num, c) in enumerate(zip(blocks, (64, 128, 256, 512)), start=1):
        for b in range(num):
            p = f'backbone.layer{stage}.{b}'
            stride = 2 if (stage > 1 and b == 0) else 1
            lay.conv(f'{p}.conv1', c_in, c, 3)
            lay.abn(f'{p}.bn1', c)
            lay.conv(f'{p}.conv2', c, c, 3)
            lay.abn(f'{p}.bn2', c)
            if c_in != c or stride != 1:
                lay.conv(f'{p}.downsample.0', c_in, c, 1)
                lay.abn(f'{p}.downsample.1', c)
            c_in = c


def _shelf_block(lay, name, c):
    """ShelfBlock.BasicBlock(c, c): conv1 3x3 with bias (used twice), bn1 ABN, bn2 BN."""
    lay.conv(f'{name}.conv1', c, c, 3, bias=True)
    lay.abn(f'{name}.bn1', c)
    lay.bn(f'{name}.bn2', c)


def _conv_bn_relu(lay, name, c_in, c_out, k):
    lay.conv(f'{name}.conv', c_in, c_out, k)
    lay.abn(f'{name}.bn', c_out)


def _arm(lay, name, c_in, c_out):
    _conv_bn_relu(lay, f'{name}.conv', c_in, c_out, 3)
    lay.conv(f'{name}.conv_atten', c_out, c_out, 1)
    lay.abn(f'{name}.bn_atten', c_out)


def _up_branch(lay, name, planes, layers):
    for i in range(layers - 1):
        _arm(lay, f'{name}.up_conv_list.{i}', planes * 2**(layers - 1 - i),
             planes * 2**max(0, layers - i - 2))
    for i in range(layers - 1):
        c = planes * 2**max(0, layers - i - 2)
        _conv_bn_relu(lay, f'{name}.up_dense_list.{i}', c, c, 3)


def shelfnet_lw(depth, num_classes=19):
    planes = 64 if depth == 18 else 128
    layers = 3
    lay = Layout()
    _shelf_resnet(lay, (2, 2, 2, 2) if depth == 18 else (3, 4, 6, 3))
    # Decoder(planes, 3): inconv, bottom, up_conv_list, up_dense_list
    _shelf_block(lay, 'decoder.inconv', planes)
    _shelf_block(lay, 'decoder.bottom', planes * 2**(layers - 1))
    _up_branch(lay, 'decoder', planes, layers)
    # LadderBlock(planes, 3): inconv, down_module_list, down_conv_list, bottom, up lists
    _shelf_block(lay, 'ladder.inconv', planes)
    for i in range(layers - 1):
        _shelf_block(lay, f'ladder.down_module_list.{i}', planes * 2**i)
    for i in range(layers - 1):
        lay.conv(f'ladder.down_conv_list.{i}', planes * 2**i, planes * 2**(i + 1), 3,
                 bias=True)
    _shelf_block(lay, 'ladder.bottom', planes * 2**(layers - 1))
    _up_branch(lay, 'ladder', planes, layers)
    # BiSeNetOutput(in, mid, n): conv (ConvBNReLU 3x3), conv_out (3x3, no bias)
    if depth == 18:
        heads = (('conv_out', 64, 64), ('conv_out16', 128, 64), ('conv_out32', 256, 64))
    else:
        heads = (('conv_out', 128, 128), ('conv_out16', 256, 64), ('conv_out32', 512, 64))
    for name, c_in, mid in heads:
        _conv_bn_relu(lay, f'{name}.conv', c_in, mid, 3)
        lay.conv(f'{name}.conv_out', mid, num_classes, 3)
    if depth == 18:  # trans1..3: ConvBNReLU 1x1 128->64, 256->128, 512->256
        for k, (c_in, c_out) in enumerate(((128, 64), (256, 128), (512, 256)), start=1):
            _conv_bn_relu(lay, f'trans{k}', c_in, c_out, 1)
    return lay.entries


# ------------------------------------------------------- Light-Weight RefineNet (official)
def _torchvision_resnet(lay, blocks, bottleneck, tracked, prefix=''):
    lay.conv(f'{prefix}conv1', 3, 64, 7)
    lay.bn(f'{prefix}bn1', 64, tracked)
    expansion = 4 if bottleneck else 1
    c_in = 64
    for stage, (num, planes) in enumerate(zip(blocks, (64, 128, 256, 512)), start=1):
        for b in range(num):
            p = f'{prefix}layer{stage}.{b}'
            c_out = planes * expansion
            if bottleneck:
                lay.conv(f'{p}.conv1', c_in, planes, 1)
                lay.bn(f'{p}.bn1', planes, tracked)
                lay.conv(f'{p}.conv2', planes, planes, 3)
                lay.bn(f'{p}.bn2', planes, tracked)
                lay.conv(f'{p}.conv3', planes, c_out, 1)
                lay.bn(f'{p}.bn3', c_out, tracked)
            else:
                lay.conv(f'{p}.conv1', c_in, planes, 3)
                lay.bn(f'{p}.bn1', planes, tracked)
                lay.conv(f'{p}.conv2', planes, planes, 3)
                lay.bn(f'{p}.bn2', planes, tracked)
            if b == 0 and (stage > 1 or c_in != c_out):
                lay.conv(f'{p}.downsample.0', c_in, c_out, 1)
                lay.bn(f'{p}.downsample.1', c_out, tracked)
            c_in = c_out
    return c_in


def _crp(lay, name, c):
    for s in range(1, 5):
        lay.conv(f'{name}.0.{s}_outvar_dimred', c, c, 1)


def rf_lw_resnet(blocks, num_classes=21):
    """models/resnet.py ResNetLW: torchvision ResNet (no fc) + the decoder in __init__ order."""
    lay = Layout()
    _torchvision_resnet(lay, blocks, bottleneck=True, tracked=True)
    lay.conv('p_ims1d2_outl1_dimred', 2048, 512, 1)
    _crp(lay, 'mflow_conv_g1_pool', 512)
    lay.conv('mflow_conv_g1_b3_joint_varout_dimred', 512, 256, 1)
    for g, c_in in ((2, 1024), (3, 512), (4, 256)):
        lay.conv(f'p_ims1d2_outl{g}_dimred', c_in, 256, 1)
        lay.conv(f'adapt_stage{g}_b2_joint_varout_dimred', 256, 256, 1)
        _crp(lay, f'mflow_conv_g{g}_pool', 256)
        if g < 4:
            lay.conv(f'mflow_conv_g{g}_b3_joint_varout_dimred', 256, 256, 1)
    lay.conv('clf_conv', 256, num_classes, 3, bias=True)
    return lay.entries


MBV2_SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                 (6, 160, 3, 2), (6, 320, 1, 1))


def _convbnrelu(lay, name, c_in, c_out, k, groups=1):
    lay.conv(f'{name}.0', c_in, c_out, k, groups=groups)
    lay.bn(f'{name}.1', c_out)


def rf_lw_mbv2(num_classes=21):
    """models/mobilenet.py MBv2: layer1 convbnrelu, layer2..8 InvertedResidualBlocks (output =
    expand 1x1, depthwise 3x3, project 1x1, every one conv + BN), then the decoder."""
    lay = Layout()
    _convbnrelu(lay, 'layer1', 3, 32, 3)
    c_in = 32
    for layer, (t, c, n, _) in enumerate(MBV2_SETTINGS, start=2):
        for b in range(n):
            mid = c_in * t
            p = f'layer{layer}.{b}.output'
            _convbnrelu(lay, f'{p}.0', c_in, mid, 1)
            _convbnrelu(lay, f'{p}.1', mid, mid, 3, groups=mid)
            _convbnrelu(lay, f'{p}.2', mid, c, 1)
            c_in = c
    for name, c in (('conv8', 320), ('conv7', 160), ('conv6', 96), ('conv5', 64), ('conv4', 32),
                    ('conv3', 24)):
        lay.conv(name, c, 256, 1)
    for k in (4, 3, 2, 1):
        _crp(lay, f'crp{k}', 256)
    for k in (4, 3, 2):
        lay.conv(f'conv_adapt{k}', 256, 256, 1)
    lay.conv('segm', 256, num_classes, 3, bias=True)
    return lay.entries


# --------------------------------------------------------------- ImageNet checkpoints
def torchvision_resnet(depth):
    blocks = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3), 50: (3, 4, 6, 3), 101: (3, 4, 23, 3),
              152: (3, 8, 36, 3)}[depth]
    lay = Layout()
    c = _torchvision_resnet(lay, blocks, bottleneck=depth >= 50, tracked=False)
    lay.add('fc.weight', (1000, c))
    lay.add('fc.bias', (1000, ))
    return lay.entries


def mmcls_mobilenet_v2():
    """mmcls MobileNetV2 (ConvModule conv/bn; InvertedResidual.conv = [expand,] dw, project;
    conv2 1x1 320->1280) + LinearClsHead fc."""
    lay = Layout()
    lay.conv('backbone.conv1.conv', 3, 32, 3)
    lay.bn('backbone.conv1.bn', 32)
    c_in = 32
    for layer, (t, c, n, _) in enumerate(MBV2_SETTINGS, start=1):
        for b in range(n):
            mid = c_in * t
            p = f'backbone.layer{layer}.{b}.conv'
            m = 0
            if t != 1:
                lay.conv(f'{p}.0.conv', c_in, mid, 1)
                lay.bn(f'{p}.0.bn', mid)
                m = 1
            lay.conv(f'{p}.{m}.conv', mid, mid, 3, groups=mid)
            lay.bn(f'{p}.{m}.bn', mid)
            lay.conv(f'{p}.{m + 1}.conv', mid, c, 1)
            lay.bn(f'{p}.{m + 1}.bn', c)
            c_in = c
    lay.conv('backbone.conv2.conv', 320, 1280, 1)
    lay.bn('backbone.conv2.bn', 1280)
    lay.add('head.fc.weight', (1000, 1280))
    lay.add('head.fc.bias', (1000, ))
    return lay.entries


LAYOUTS = {
    'shelfnet18-lw': lambda: shelfnet_lw(18),
    'shelfnet34-lw': lambda: shelfnet_lw(34),
    'rf-lw-r50': lambda: rf_lw_resnet((3, 4, 6, 3)),
    'rf-lw-r101': lambda: rf_lw_resnet((3, 4, 23, 3)),
    'rf-lw-r152': lambda: rf_lw_resnet((3, 8, 36, 3)),
    'rf-lw-mbv2': rf_lw_mbv2,
    'torchvision-resnet18': lambda: torchvision_resnet(18),
    'torchvision-resnet34': lambda: torchvision_resnet(34),
    'torchvision-resnet50': lambda: torchvision_resnet(50),
    'torchvision-resnet101': lambda: torchvision_resnet(101),
    'torchvision-resnet152': lambda: torchvision_resnet(152),
    'mmcls-mobilenet-v2': mmcls_mobilenet_v2,
}


def render(name: str) -> str:
    lines = [json.dumps([key, shape]) for key, shape in LAYOUTS[name]()]
    return '[\n' + ',\n'.join(lines) + '\n]\n'


def main():
    for name in LAYOUTS:
        with open(osp.join(HERE, f'{name}.json'), 'w') as f:
            f.write(render(name))
        print(f'{name}.json: {len(LAYOUTS[name]())} tensors')


if __name__ == '__main__':
    main()
