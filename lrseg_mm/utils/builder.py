"""Build a config's segmentor for inference, tests and benchmarks: no checkpoint, no dataset.

Configs written for training ask for things a standalone build cannot have: ``SyncBN`` needs
a process group, and ``pretrained=...`` / ``init_cfg=dict(type='Pretrained', ...)`` download
ImageNet weights. :func:`build_segmentor_from_config` removes both (SyncBN becomes BN, which
computes the same in eval mode) and builds the model with the layers' own initialisation.
"""
import copy
import logging
import os.path as osp
from typing import Optional, Union

import torch.nn as nn
from mmengine.config import Config


def strip_pretrained(cfg: Union[dict, list]) -> Union[dict, list]:
    """Remove every request for pretrained weights from a model config, in place.

    Drops ``pretrained`` keys and every ``init_cfg`` of type ``Pretrained`` (also inside an
    ``init_cfg`` list), at any depth, e.g. BiSeNetV1's ``backbone.backbone_cfg.init_cfg``.

    Args:
        cfg (dict | list): A model config (or part of one).

    Returns:
        The same object, for chaining.
    """
    if isinstance(cfg, dict):
        cfg.pop('pretrained', None)
        init_cfg = cfg.get('init_cfg', None)
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            cfg['init_cfg'] = None
        elif isinstance(init_cfg, list):
            cfg['init_cfg'] = [c for c in init_cfg
                               if not (isinstance(c, dict) and c.get('type') == 'Pretrained')]
        for value in cfg.values():
            strip_pretrained(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            strip_pretrained(value)
    return cfg


def replace_sync_bn(cfg: Union[dict, list]) -> Union[dict, list]:
    """Turn every ``norm_cfg`` of type ``SyncBN`` into ``BN``, in place, at any depth.

    Args:
        cfg (dict | list): A model config (or part of one).

    Returns:
        The same object, for chaining.
    """
    if isinstance(cfg, dict):
        for key, value in cfg.items():
            if key == 'norm_cfg' and isinstance(value, dict) and value.get('type') == 'SyncBN':
                value['type'] = 'BN'
            else:
                replace_sync_bn(value)
    elif isinstance(cfg, (list, tuple)):
        for value in cfg:
            replace_sync_bn(value)
    return cfg


def resolve_config_path(path: str) -> str:
    """Path of a config file; ``'mmseg::erfnet/x.py'`` names a config shipped with mmseg.

    Raises:
        FileNotFoundError: If the file does not exist.
    """
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
    """Read a config (path, ``mmseg::`` path or Config copy); merge ``cfg_options`` in."""
    if isinstance(config, Config):
        cfg = copy.deepcopy(config)
    elif isinstance(config, str):
        cfg = Config.fromfile(resolve_config_path(config))
    else:
        raise TypeError(f'config must be a path or an mmengine Config, got {type(config)}')
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if 'model' not in cfg:
        raise ValueError(f'config {getattr(cfg, "filename", config)} has no `model` entry')
    return cfg


def _quiet_init_weights(model: nn.Module) -> None:
    """``model.init_weights()`` without mmengine's per-parameter INFO report."""
    from mmengine.logging import MMLogger
    logger = MMLogger.get_current_instance()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        model.init_weights()
    finally:
        logger.setLevel(level)


def build_segmentor_from_config(config: Union[str, Config],
                                cfg_options: Optional[dict] = None,
                                sync_bn_to_bn: bool = True,
                                drop_auxiliary_heads: bool = False,
                                init_weights: bool = True,
                                device: str = 'cpu',
                                eval_mode: bool = False) -> nn.Module:
    """Build the segmentor of a config without pretrained weights, a checkpoint or data.

    Works for this project's configs and the toolbox's shipped ones (``mmseg::...``).

    Args:
        config (str | Config): Config file path or object (not modified).
        cfg_options (dict, optional): Overrides merged into the config first, as
            ``--cfg-options`` would. Default: None.
        sync_bn_to_bn (bool): Replace SyncBN by BN (SyncBN needs a process group).
            Default: True.
        drop_auxiliary_heads (bool): Remove ``auxiliary_head`` (unused at inference).
            Default: False.
        init_weights (bool): Call ``init_weights()`` (the config's random initialisation,
            pretrained entries removed). Default: True.
        device (str): Device to move the model to. Default: 'cpu'.
        eval_mode (bool): Return the model in eval mode. Default: False.

    Returns:
        nn.Module: The built segmentor.
    """
    from mmengine.registry import DefaultScope, init_default_scope
    from mmseg.registry import MODELS
    from mmseg.utils import register_all_modules

    import lrseg_mm  # noqa: F401  (registers this project's modules)

    register_all_modules(init_default_scope=False)
    if DefaultScope.get_current_instance() is None:
        init_default_scope('mmseg')
    cfg = load_config(config, cfg_options)
    model_cfg = copy.deepcopy(cfg.model)
    strip_pretrained(model_cfg)
    if sync_bn_to_bn:
        replace_sync_bn(model_cfg)
    if drop_auxiliary_heads:
        model_cfg.pop('auxiliary_head', None)
    model = MODELS.build(model_cfg)
    if init_weights:
        _quiet_init_weights(model)
    model = model.to(device)
    return model.eval() if eval_mode else model
