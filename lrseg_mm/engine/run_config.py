"""A config file made ready for mmengine's Runner, as the toolbox's train and test tools do."""
import os.path as osp
from typing import Optional

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def load_run_config(config: str,
                    launcher: str = 'none',
                    cfg_options: Optional[dict] = None,
                    work_dir: Optional[str] = None) -> Config:
    """Read a config and set what every tool run sets.

    Args:
        config (str): Config file.
        launcher (str): ``none``, ``pytorch``, ``slurm`` or ``mpi``. Default: ``none``.
        cfg_options (dict | None): ``--cfg-options`` overrides (a DictAction dict).
        work_dir (str | None): Work dir; default the config's, else
            ``./work_dirs/<config name>`` (the toolbox's default).

    Returns:
        Config: The config with ``launcher`` and ``work_dir`` set.
    """
    cfg = Config.fromfile(config)
    cfg.launcher = launcher
    if cfg_options is not None:
        cfg.merge_from_dict(cfg_options)
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def build_runner(cfg: Config) -> Runner:
    """The config's ``runner_type`` (e.g. ``LrsegRunner``), else mmengine's ``Runner``."""
    return RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
