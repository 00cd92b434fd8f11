"""Building a config's segmentor: the one way tools, benchmarks and tests build models."""
import copy
import os.path as osp
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config


def resolve_config_path(path: str) -> str:
    """Path of a config file ``path``; ``'mmseg::erfnet/x.py'`` names one shipped with
    mmseg. FileNotFoundError if the file (or the package) does not exist."""
    if '::' in path:
        from mmengine.config.utils import (_get_external_cfg_base_path,
                                           _get_package_and_cfg_path)
        from mmengine.utils import get_installed_path, is_installed
        package, relative = _get_package_and_cfg_path(path)
        if not is_installed(package):
            raise FileNotFoundError(f'{path}: package {package} is not installed')
        path = _get_external_cfg_base_path(get_installed_path(package), relative)
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file not found: {path}')
    return path


def load_config(config: Union[str, Config], cfg_options: Optional[dict] = None) -> Config:
    """A ``config`` file (``mmseg::...`` for the toolbox's) or a copy of a Config object,
    with ``cfg_options`` merged in as ``--cfg-options`` would."""
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, str):
        cfg = Config.fromfile(resolve_config_path(config))
    else:
        raise TypeError(f'config must be a path or an mmengine Config, got {type(config)}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def load_segmentor(config: Union[str, Config], checkpoint: Optional[str] = None,
                   device: str = 'cpu', cfg_options: Optional[dict] = None,
                   drop_auxiliary_heads: bool = False) -> nn.Module:
    """Build a config's segmentor with the toolbox's ``init_model`` (no weight
    initialisation, so no pretrained download: without a checkpoint the weights are
    PyTorch's defaults, fine for counting, timing and export checks), SyncBN reverted to BN.
    A refused or damaged checkpoint raises an error naming it
    (:func:`lrseg_mm.engine.checkpoint_errors_named`).

    Args:
        config (str | Config): Config file (``mmseg::...`` for the toolbox's) or object.
        checkpoint (str, optional): Checkpoint to load. Default: None.
        device (str): Device to put the model on. Default: 'cpu'.
        cfg_options (dict, optional): Overrides merged into the config. Default: None.
        drop_auxiliary_heads (bool): Remove ``model.auxiliary_head``. Default: False.

    Returns:
        nn.Module: The segmentor in eval mode, with ``cfg`` (its ``test_pipeline`` without
        label loaders) and, from a checkpoint, ``dataset_meta``.
    """
    from mmengine.model import revert_sync_batchnorm
    from mmseg.apis import init_model

    from lrseg_mm.engine import checkpoint_errors_named

    cfg = load_config(config, cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'config {cfg.filename} has no `model` entry')
    if drop_auxiliary_heads:
        cfg.model.pop('auxiliary_head', None)
    if checkpoint is not None:
        checkpoint = osp.expanduser(checkpoint)
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
    with checkpoint_errors_named(checkpoint):
        model = init_model(cfg, checkpoint, device=device)
    _drop_annotation_loaders(model.cfg)
    return revert_sync_batchnorm(model).eval()


def _drop_annotation_loaders(cfg) -> None:
    """Remove label loaders (``LoadAnnotations`` and subclasses) from ``cfg.test_pipeline``."""
    from mmseg.datasets.transforms import LoadAnnotations
    from mmseg.registry import TRANSFORMS

    def is_label_loader(transform):
        kind = transform.get('type')
        cls = TRANSFORMS.get(kind) if isinstance(kind, str) else kind
        return isinstance(cls, type) and issubclass(cls, LoadAnnotations)

    if cfg.get('test_pipeline'):
        cfg.test_pipeline = [t for t in cfg.test_pipeline if not is_label_loader(t)]
