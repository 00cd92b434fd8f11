"""Accuracy of an exported or quantised graph: the config's test run with the graph as model."""
import copy
from typing import Optional

from mmengine.config import Config


def backend_test_config(cfg: Config,
                        model_file: str,
                        backend: str = 'onnxruntime',
                        threads: Optional[int] = None,
                        split: str = 'val') -> Config:
    """A copy of ``cfg`` whose test run evaluates ``model_file`` instead of ``cfg.model``.

    The model becomes a :class:`~lrseg_mm.deploy.segmentor.BackendSegmentor` with the
    segmentor's data preprocessor, ``test_cfg`` and decode head classes and
    ``align_corners``; the
    dataloader and evaluator are the config's own for ``split``; nothing is loaded
    (``load_from = None``).

    Args:
        cfg (Config): The config the graph was exported from (not modified).
        model_file (str): The ONNX file or OpenVINO IR.
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        threads (int, optional): CPU threads of the runtime. Default: its own choice.
        split (str): 'val' or 'test': whose dataloader and evaluator the test run uses.
            Default: 'val'.
    """
    if split not in ('val', 'test'):
        raise ValueError(f"split must be 'val' or 'test', got {split!r}")
    cfg = copy.deepcopy(cfg)
    head = cfg.model.get('decode_head') or {}
    head = head[-1] if isinstance(head, (list, tuple)) else head
    cfg.model = dict(type='BackendSegmentor', model_file=model_file,
                     num_classes=head.get('out_channels') or head['num_classes'],
                     backend=backend, threads=threads,
                     align_corners=head.get('align_corners', False),
                     data_preprocessor=cfg.model.get('data_preprocessor'),
                     test_cfg=cfg.model.get('test_cfg'))
    cfg.test_dataloader = cfg[f'{split}_dataloader']
    cfg.test_evaluator = cfg[f'{split}_evaluator']
    cfg.load_from = None
    cfg.resume = False
    return cfg


def run_test(cfg: Config) -> dict:
    """Run ``cfg``'s test loop with its runner (``runner_type``, else mmengine's Runner) and
    return the evaluator's metrics, plus ``images``: the number of images evaluated."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    metrics = runner.test()
    return dict(metrics, images=len(runner.test_dataloader.dataset))
