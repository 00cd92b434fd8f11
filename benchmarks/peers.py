"""The models that the peer table and the CPU profile compare: ours and the toolbox's
real-time zoo, how their BN is folded, and their INT8 graphs."""
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch.nn as nn

from lrseg_mm.deploy import ImageFolderCalibrationReader, random_images
from lrseg_mm.utils.fuse import can_fuse, fuse_adjacent, fuse_conv_bn_pair

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CITYSCAPES, VOC = (512, 1024), (512, 512)


@dataclass
class Entry:
    """One model of the table: display ``name``, ``config`` (relative to the repository, or
    ``mmseg::`` for the toolbox's), input ``shape`` (H, W) of its paper, whether it is
    ``ours``, and the ``miou`` its paper (ours) or the toolbox's metafile (:func:`zoo_miou`)
    reports, not measured here, with its ``miou_source`` (where, which split)."""
    name: str
    config: str
    shape: Tuple[int, int]
    ours: bool = False
    miou: Optional[float] = None
    miou_source: str = ''

    @property
    def path(self) -> str:
        """The config as ``load_segmentor`` takes it."""
        return self.config if self.config.startswith('mmseg::') else osp.join(REPO, self.config)


ENTRIES = [
    Entry('LRNNet', 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py', CITYSCAPES,
          True, 72.2, 'paper, Cityscapes test'),
    Entry('ShelfNet18-lw', 'configs/shelfnet/shelfnet18-lw_2xb8-80k_cityscapes-1024x1024.py',
          CITYSCAPES, True, 74.8, "authors' repo, Cityscapes test"),
    Entry('RF-LW-ResNet-50', 'configs/lw_refinenet/lw-refinenet_r50_4xb4-40k_voc12aug-512x512.py',
          VOC, True, 81.1, 'paper, VOC test, COCO-pretrained'),
    Entry('RF-LW-MobileNetV2',
          'configs/lw_refinenet/lw-refinenet_mbv2_4xb4-40k_voc12aug-512x512.py', VOC, True, 79.2,
          'paper, VOC test, COCO-pretrained'),
    Entry('ERFNet', 'mmseg::erfnet/erfnet_fcn_4xb4-160k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('CGNet', 'mmseg::cgnet/cgnet_fcn_4xb8-60k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('Fast-SCNN', 'mmseg::fastscnn/fast_scnn_8xb4-160k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('BiSeNetV1-R18', 'mmseg::bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py',
          CITYSCAPES),
    Entry('BiSeNetV2', 'mmseg::bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py',
          CITYSCAPES),
    Entry('STDC1', 'mmseg::stdc/stdc1_4xb12-80k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('STDC2', 'mmseg::stdc/stdc2_4xb12-80k_cityscapes-512x1024.py', CITYSCAPES),
    Entry('DDRNet-23-slim',
          'mmseg::ddrnet/ddrnet_23-slim_in1k-pre_2xb6-120k_cityscapes-1024x1024.py', CITYSCAPES),
    Entry('PIDNet-S', 'mmseg::pidnet/pidnet-s_2xb6-120k_1024x1024-cityscapes.py', CITYSCAPES),
    Entry('MobileNetV3-LRASPP',
          'mmseg::mobilenet_v3/mobilenet-v3-d8_lraspp_4xb4-320k_cityscapes-512x1024.py',
          CITYSCAPES),
    Entry('DeepLabV3+-R50-d8',
          'mmseg::deeplabv3plus/deeplabv3plus_r50-d8_4xb4-40k_voc12aug-512x512.py', VOC),
    Entry('NonLocal-R50-d8', 'mmseg::nonlocal_net/nonlocal_r50-d8_4xb4-40k_voc12aug-512x512.py',
          VOC),
]
ENTRY = {e.name: e for e in ENTRIES}


def zoo_miou(entry: Entry) -> Tuple[Optional[float], str]:
    """mIoU and its source of the shipped config of ``entry``, from the toolbox's
    metafile.yaml (``(None, '')`` for ours)."""
    import yaml

    from lrseg_mm.apis import resolve_config_path
    meta_path = entry.config.startswith('mmseg::') and osp.join(
        osp.dirname(resolve_config_path(entry.config)), 'metafile.yaml')
    if not meta_path or not osp.exists(meta_path):
        return None, ''
    with open(meta_path) as f:
        meta = yaml.safe_load(f)
    relative = 'configs/' + entry.config.split('::', 1)[1]
    for model in meta.get('Models', []):
        if model.get('Config') == relative:
            results = model['Results'] if isinstance(model['Results'], list) else [
                model['Results']]
            dataset = results[0].get('Dataset', '').replace('Pascal VOC 2012 + Aug', 'VOC aug')
            return results[0]['Metrics'].get('mIoU'), f'mmseg zoo, {dataset} val'
    return None, ''


def fuse_erfnet_block(module: nn.Module) -> int:
    """Fold the BNs of ``module`` if it is the toolbox's ERFNet ``NonBottleneck1d``, whose
    forward runs ``convs_layers`` in order (an extra fuser of ``fuse_conv_bn``)."""
    from mmseg.models.backbones.erfnet import NonBottleneck1d
    return fuse_adjacent(module.convs_layers) if type(module) is NonBottleneck1d else 0


def fuse_cgnet_block(module: nn.Module) -> int:
    """Fold ``module`` if it is the toolbox's CGNet ``ContextGuidedBlock``,
    ``bn(cat([f_loc(x), f_sur(x)]))``: each conv absorbs its slice of the BN (an extra fuser
    of ``fuse_conv_bn``)."""
    from mmseg.models.backbones.cgnet import ContextGuidedBlock
    if type(module) is not ContextGuidedBlock:
        return 0
    loc, sur, bn = module.f_loc, module.f_sur, module.bn
    if not (can_fuse(loc, bn, 0) and can_fuse(sur, bn, loc.out_channels)
            and loc.out_channels + sur.out_channels == bn.num_features):
        return 0
    fuse_conv_bn_pair(loc, bn, 0)
    fuse_conv_bn_pair(sur, bn, loc.out_channels)
    module.bn = nn.Identity()
    return 1


# What the peer benchmarks fold beyond lrseg_mm.utils.fuse_conv_bn's generic rules.
PEER_FUSERS = (fuse_erfnet_block, fuse_cgnet_block)


class RandomCalibrationReader(ImageFolderCalibrationReader):
    """``num`` random normal calibration inputs of (H, W) ``shape`` for the INT8 quantisers
    (INT8 *speed* does not depend on the calibrated ranges)."""

    def __init__(self, shape: Sequence[int], num: int = 4):
        super().__init__([''], num, shape, pipeline=[], data_preprocessor=None)

    def crop(self, index: int):
        """Random input number ``index`` (the same for the same index)."""
        return random_images(1, self.shape, seed=index).numpy()


def int8_graph(fp32_file: str, backend: str, shape: Sequence[int]) -> str:
    """The INT8 graph of an exported fp32 graph of input ``shape``, made once beside it with
    the ``backend``'s own tool: ONNX Runtime's static QDQ quantisation, or NNCF for OpenVINO
    (an IR)."""
    from lrseg_mm.deploy import quantize_int8, quantize_int8_openvino
    stem = fp32_file[:-len('.onnx')]
    if backend == 'openvino':
        out, quantize = stem + '-int8-nncf.xml', quantize_int8_openvino
    else:
        out, quantize = stem + '-int8.onnx', quantize_int8
    if not osp.exists(out):
        quantize(fp32_file, out, RandomCalibrationReader(shape))
    return out
