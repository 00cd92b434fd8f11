"""An exported graph as a segmentor, evaluated by the config's own test loop."""
import copy
from typing import List, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmseg.models.segmentors import BaseSegmentor, EncoderDecoder
from mmseg.registry import MODELS

from .backends import build_backend
from .metadata import graph_input_shape


@MODELS.register_module()
class BackendSegmentor(EncoderDecoder):
    """An ONNX file or OpenVINO IR on a CPU runtime, evaluated as the toolbox evaluates a
    segmentor (as mmdeploy's ``End2EndModel``): the exported graph is ``encode_decode``,
    the one method replaced; the preprocessor, whole or sliding-window inference and
    ``postprocess_result`` are ``EncoderDecoder``'s, so the config's test loop and
    ``IoUMetric`` judge the graph as they judge the PyTorch model
    (:func:`backend_test_config`). Registered in mmseg's ``MODELS`` by importing
    :mod:`lrseg_mm.deploy`.

    Args:
        model_file (str): The ONNX file, or an OpenVINO IR (``.xml``) for 'openvino'.
        num_classes (int): Channels of the graph's logits (decode head's ``out_channels``).
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        threads (int, optional): CPU threads of the runtime. Default: its own choice.
        align_corners (bool): The exported decode head's ``align_corners``. Default: False.
        data_preprocessor (dict, optional): The exported segmentor's data preprocessor.
        test_cfg (dict, optional): The exported segmentor's ``test_cfg``. Default: whole.
        init_cfg (dict, optional): Unused (the weights are in the graph). Default: None.
    """

    def __init__(self, model_file: str, num_classes: int, backend: str = 'onnxruntime',
                 threads: Optional[int] = None, align_corners: bool = False,
                 data_preprocessor: Optional[dict] = None, test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        # EncoderDecoder.__init__ would build the network the graph replaces
        BaseSegmentor.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.model_file = model_file
        self.runtime = build_backend(backend, onnx_file=model_file, threads=threads)
        self.input_shape = graph_input_shape(model_file)
        self.out_channels = self.num_classes = num_classes
        self.align_corners = align_corners
        self.train_cfg = None
        self.test_cfg = ConfigDict(test_cfg or dict(mode='whole'))

    def encode_decode(self, inputs: torch.Tensor, batch_img_metas: List[dict]) -> torch.Tensor:
        """The graph's logits for a normalised batch, at the batch's size."""
        if self.input_shape and tuple(inputs.shape[2:]) != self.input_shape:
            raise ValueError(
                f'{self.model_file} is a static graph for {self.input_shape[0]}x'
                f'{self.input_shape[1]} inputs; the test pipeline gives '
                f'{inputs.shape[2]}x{inputs.shape[3]}: export it at that size or with '
                'dynamic axes')
        return torch.from_numpy(self.runtime(inputs)).to(inputs.device)

    def _forward(self, inputs: torch.Tensor, data_samples=None) -> torch.Tensor:
        """``mode='tensor'``: the graph's logits, no post-processing."""
        return self.encode_decode(inputs, [])

    def loss(self, inputs, data_samples):
        raise NotImplementedError('an exported graph is evaluated, not trained')


def backend_test_config(cfg: Config, model_file: str, backend: str = 'onnxruntime',
                        threads: Optional[int] = None) -> Config:
    """A copy of ``cfg`` whose test run evaluates ``model_file`` as a
    :class:`BackendSegmentor` (the segmentor's preprocessor, ``test_cfg``, classes,
    ``align_corners``) with the validation dataloader and evaluator.

    Args:
        cfg (Config): The config the graph was exported from (not modified).
        model_file (str): The ONNX file or OpenVINO IR.
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        threads (int, optional): CPU threads of the runtime. Default: its own choice.
    """
    cfg = copy.deepcopy(cfg)
    head = cfg.model.get('decode_head') or {}
    head = head[-1] if isinstance(head, (list, tuple)) else head
    cfg.model = dict(type='BackendSegmentor', model_file=model_file,
                     num_classes=head.get('out_channels') or head['num_classes'],
                     backend=backend, threads=threads,
                     align_corners=head.get('align_corners', False),
                     data_preprocessor=cfg.model.get('data_preprocessor'),
                     test_cfg=cfg.model.get('test_cfg'))
    cfg.test_dataloader, cfg.test_evaluator = cfg.val_dataloader, cfg.val_evaluator
    cfg.load_from, cfg.resume = None, False
    return cfg


def run_test(cfg: Config) -> dict:
    """The metrics of ``cfg``'s test loop (its ``runner_type``, else mmengine's Runner), plus
    ``images``: the number of images evaluated."""
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner

    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else Runner.from_cfg(cfg)
    metrics = runner.test()
    return dict(metrics, images=len(runner.test_dataloader.dataset))
