"""An exported graph as a segmentor that the toolbox's test loop runs."""
from typing import List, Optional

import torch
from mmengine.config import ConfigDict
from mmseg.models.segmentors import BaseSegmentor, EncoderDecoder
from mmseg.registry import MODELS

from .backends import build_backend
from .metadata import graph_input_shape


@MODELS.register_module()
class BackendSegmentor(EncoderDecoder):
    """An ONNX file or OpenVINO IR on a CPU runtime, evaluated as the toolbox evaluates
    a segmentor (in the spirit of mmdeploy's ``End2EndModel``).

    The exported graph is ``encode_decode`` (:mod:`lrseg_mm.deploy.export`), so that is
    the one method replaced: it runs the graph through
    :func:`~lrseg_mm.deploy.backends.build_backend`. Everything around it is
    ``EncoderDecoder``'s own: the data preprocessor (channel order, mean, std, padding),
    whole or sliding-window inference after ``test_cfg``, and ``postprocess_result``
    (padding removed, logits resized to the original image, argmax). The config's test
    pipeline, dataloader and ``IoUMetric`` therefore judge the graph exactly as they judge
    the PyTorch model (:func:`lrseg_mm.deploy.evaluation.backend_test_config`). Registered
    in mmseg's ``MODELS`` by importing :mod:`lrseg_mm.deploy` (a config's
    ``custom_imports``).

    Args:
        model_file (str): The ONNX file, or an OpenVINO IR (``.xml``) for 'openvino'.
        num_classes (int): Channels of the graph's logits (the decode head's
            ``out_channels``, usually ``num_classes``).
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        threads (int, optional): CPU threads of the runtime. Default: its own choice.
        align_corners (bool): ``align_corners`` of the resize to the original size, as
            the exported decode head's. Default: False.
        data_preprocessor (dict, optional): The exported segmentor's data preprocessor.
        test_cfg (dict, optional): The exported segmentor's ``test_cfg``. Default:
            ``dict(mode='whole')``.
        init_cfg (dict, optional): Unused (the weights are in the graph). Default: None.
    """

    def __init__(self,
                 model_file: str,
                 num_classes: int,
                 backend: str = 'onnxruntime',
                 threads: Optional[int] = None,
                 align_corners: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        # EncoderDecoder.__init__ would build the network the graph replaces
        BaseSegmentor.__init__(self, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if backend == 'pytorch':
            raise ValueError("BackendSegmentor runs an exported graph; for 'pytorch' use the "
                             'config\'s own model')
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
