"""The models of the CamVid benchmark (configs of ``configs/camvid_benchmark/``) and the
ablation variants of LRNNet, each its model's config with ``--cfg-options``."""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from lrseg_mm.datasets import CamVidDataset

CONFIG_DIR = 'configs/camvid_benchmark'
CLASSES: Tuple[str, ...] = tuple(CamVidDataset.METAINFO['classes'])
# Column headers of the tables, where a class name is too long for one.
_SHORT = {'building': 'bldg', 'pavement': 'pvmt', 'signsymbol': 'sign', 'pedestrian': 'ped',
          'bicyclist': 'bike'}
SHORT_CLASS_NAMES: Tuple[str, ...] = tuple(_SHORT.get(c, c) for c in CLASSES)
INPUT_SHAPE = (360, 480)


@dataclass(frozen=True)
class Model:
    """One entry of the benchmark: a config plus, for ablation variants, its overrides.

    Attributes:
        name (str): Run name, on the command line and in the run folders.
        title (str): Name in the tables.
        config (str): Config path relative to the repository.
        ours (bool): A model of this project.
        paper_pretrained (bool): Its paper starts from ImageNet weights (here: from scratch).
        seconds_per_iter (float): Training seconds per iteration at batch 4 on the loaded
            2-core development CPU; sets the checkpoint interval.
        variant_of (str | None): The model an ablation variant changes.
        change (str): What the variant changes, for the ablation table.
        options (tuple[str]): ``--cfg-options`` of the variant (key=value).
        in_benchmark (bool): The variant is also a row of the benchmark table.
    """
    name: str
    title: str
    config: str
    ours: bool = False
    paper_pretrained: bool = False
    seconds_per_iter: float = 1.0
    variant_of: Optional[str] = None
    change: str = ''
    options: Tuple[str, ...] = ()
    in_benchmark: bool = False


def _cfg(name: str) -> str:
    """The path of a benchmark config."""
    return f'{CONFIG_DIR}/{name}_1xb4-30e_camvid-360x480.py'


_BENCHMARK = [
    Model('lrnnet-a', 'LRNNet Model A (no SVN)', _cfg('lrnnet-model-a'), ours=True,
          seconds_per_iter=2.3),
    Model('lrnnet-b', 'LRNNet Model B (SVN 8x8)', _cfg('lrnnet-model-b'), ours=True,
          seconds_per_iter=2.45),
    Model('lrnnet-c', 'LRNNet Model C (SVN 8x8+4x4)', _cfg('lrnnet-model-c'), ours=True,
          seconds_per_iter=2.45),
    Model('erfnet', 'ERFNet', _cfg('erfnet_fcn'), seconds_per_iter=6.0),
    Model('cgnet', 'CGNet', _cfg('cgnet_fcn'), seconds_per_iter=1.95),
    Model('fast-scnn', 'Fast-SCNN', _cfg('fast_scnn'), seconds_per_iter=2.55),
    Model('bisenetv2', 'BiSeNetV2', _cfg('bisenetv2_fcn'), seconds_per_iter=3.9),
    Model('shelfnet18-lw', 'ShelfNet18-lw', _cfg('shelfnet18-lw-scratch'), ours=True,
          paper_pretrained=True, seconds_per_iter=2.85),
    Model('rf-lw-mbv2', 'RF-LW-MobileNet-v2', _cfg('lw-refinenet-scratch_mbv2'), ours=True,
          paper_pretrained=True, seconds_per_iter=4.0),
]


def _variant(name: str, change: str, *options: str, in_benchmark: bool = False,
             of: str = 'lrnnet-c', title: Optional[str] = None) -> Model:
    """An ablation variant of model ``of``."""
    base = next(m for m in _BENCHMARK if m.name == of)
    title = title or f'LRNNet Model {of[-1].upper()}, {change}'
    return Model(name, title, base.config, ours=True,
                 seconds_per_iter=base.seconds_per_iter, variant_of=base.name, change=change,
                 options=tuple(options), in_benchmark=in_benchmark)


# `analysis.enet_class_weights` of the SegNet CamVid train split (367 frames; the
# `class-weights` command recomputes them): rare thin classes (pole, sign, fence,
# pedestrian, bicyclist) weigh 9-13x the road.
CAMVID_ENET_WEIGHTS = (5.603, 4.295, 33.574, 3.335, 15.486, 8.739, 31.542, 32.012, 12.829,
                       38.014, 43.907)

_NO_DROPOUT = ('model.backbone.drop_rates=(0.,0.,0.)', 'model.decode_head.dropout_ratio=0.')
# our loss: mmseg 1.2.2's cross-entropy fails on class weights with ignored pixels
_CLASS_WEIGHTS = ("model.decode_head.loss_decode.type='KeptPixelsCrossEntropyLoss'",
                  'model.decode_head.loss_decode.class_weight='
                  f'[{",".join(map(str, CAMVID_ENET_WEIGHTS))}]')


def _svn(**options) -> Tuple[str, ...]:
    """``--cfg-options`` of SVNHead's block options."""
    return tuple(f'model.decode_head.svn_cfg.{k}={v}' for k, v in options.items())


# The choices the paper leaves open in our reconstruction, each as a config-level change of
# Model C (or A, B). Compare them with lrnnet-c at the same budget and seeds.
_ABLATIONS = [
    # the largest effect of the 5-epoch ablations, so also trained at the benchmark's budget
    _variant('lrnnet-c-drop0', 'no dropout (encoder 0, 0, 0; head 0)', *_NO_DROPOUT,
             in_benchmark=True),
    # the SVN head's effect (Model C against B and A) under the no-dropout defaults
    _variant('lrnnet-a-drop0', 'no SVN block (Model A), no dropout', *_NO_DROPOUT,
             in_benchmark=True, of='lrnnet-a', title='LRNNet Model A, no dropout'),
    _variant('lrnnet-b-drop0', 'SVN 8x8 only (Model B), no dropout', *_NO_DROPOUT,
             in_benchmark=True, of='lrnnet-b', title='LRNNet Model B, no dropout'),
    # the two changes that gained at 5 epochs, together
    _variant('lrnnet-c-drop0-classweights', 'no dropout and ENet class weights',
             *_NO_DROPOUT, *_CLASS_WEIGHTS),
    _variant('lrnnet-c-drop-low', 'encoder dropout 0.01, 0.01, 0.1',
             'model.backbone.drop_rates=(0.01,0.01,0.1)'),
    _variant('lrnnet-c-headdrop0', 'head dropout 0', 'model.decode_head.dropout_ratio=0.'),
    _variant('lrnnet-c-cls16', 'classifier width 16', 'model.decode_head.channels=16'),
    _variant('lrnnet-c-cls48', 'classifier width 48', 'model.decode_head.channels=48'),
    _variant('lrnnet-c-svn16', 'SVN reduced channels 16', 'model.decode_head.svn_channels=16'),
    _variant('lrnnet-c-svn64', 'SVN reduced channels 64', 'model.decode_head.svn_channels=64'),
    _variant('lrnnet-c-noscale', 'attention without 1/sqrt(d) scale',
             'model.decode_head.use_scale=False'),
    _variant('lrnnet-c-lr1e-3', 'lr 1e-3', 'optim_wrapper.optimizer.lr=1e-3'),
    _variant('lrnnet-c-lr5e-3', 'lr 5e-3', 'optim_wrapper.optimizer.lr=5e-3'),
    _variant('lrnnet-c-wd0', 'weight decay 0', 'optim_wrapper.optimizer.weight_decay=0.'),
    _variant('lrnnet-c-classweights', 'ENet class weights in the loss (a recipe change)',
             *_CLASS_WEIGHTS),
    # the SVN block's open choices (SVNBlock options), screened against Model A
    _variant('lrnnet-c-svn-zero', 'no dropout, SVN block starts as the identity',
             *_NO_DROPOUT, *_svn(zero_init=True)),
    _variant('lrnnet-c-svn-signed', 'no dropout, SVN zero-init, signed queries/keys',
             *_NO_DROPOUT, *_svn(zero_init=True, signed=True)),
    _variant('lrnnet-c-svn-qt', 'no dropout, SVN zero-init, signed, query projection, '
             'learnable temperature', *_NO_DROPOUT,
             *_svn(zero_init=True, signed=True, query_proj=True, learn_temperature=True)),
    _variant('lrnnet-c-svn-qtv', 'no dropout, SVN zero-init, signed, query projection, '
             'learnable temperature, values scaled by singular value', *_NO_DROPOUT,
             *_svn(zero_init=True, signed=True, query_proj=True, learn_temperature=True,
                   scale_values=True)),
    _variant('lrnnet-c-svn-qt-nonorm', 'no dropout, SVN zero-init, signed, query projection, '
             'learnable temperature, no norm after the restoring conv', *_NO_DROPOUT,
             *_svn(zero_init=True, signed=True, query_proj=True, learn_temperature=True,
                   restore_norm=False)),
    # unit keys make q.k / sqrt(C') about sqrt(C') times smaller than in dot-product attention
    # (near-uniform weights): logits without the 1/sqrt(C') scale, the temperature learnt
    _variant('lrnnet-c-svn-qt-noscale', 'no dropout, SVN zero-init, signed, query projection, '
             'learnable temperature starting at 1', *_NO_DROPOUT,
             'model.decode_head.use_scale=False',
             *_svn(zero_init=True, signed=True, query_proj=True, learn_temperature=True)),
    _variant('lrnnet-c-svn-all-noscale', 'no dropout, SVN zero-init, signed, query '
             'projection, learnable temperature starting at 1, values scaled by singular '
             'value, no norm after the restoring conv', *_NO_DROPOUT,
             'model.decode_head.use_scale=False',
             *_svn(zero_init=True, signed=True, query_proj=True, learn_temperature=True,
                   scale_values=True, restore_norm=False)),
    _variant('lrnnet-c-pairnorm', 'FCB branches normalise once per conv pair (ERFNet/LEDNet)',
             "model.backbone.fcb_branch_norm='pair'"),
]
MODELS: Dict[str, Model] = {m.name: m for m in _BENCHMARK + _ABLATIONS}
BENCHMARK_NAMES = [m.name for m in _BENCHMARK]


def resolve_models(names: Sequence[str]) -> List[Model]:
    """The models of the command line's ``names`` (``all``: the benchmark list,
    ``ablations``: the variants); SystemExit naming the choices for an unknown name."""
    models = []
    for name in names:
        if name == 'all':
            models += [MODELS[n] for n in BENCHMARK_NAMES]
        elif name == 'ablations':
            models += [m for m in MODELS.values() if m.variant_of]
        elif name in MODELS:
            models.append(MODELS[name])
        else:
            raise SystemExit(f'error: unknown model {name!r}; choose from all, ablations, '
                             f'{", ".join(MODELS)}')
    return list(dict.fromkeys(models))
