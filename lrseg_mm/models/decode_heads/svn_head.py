from typing import Optional, Sequence

from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.registry import MODELS

from ..utils import SVNBlock


@MODELS.register_module()
class SVNHead(BaseDecodeHead):
    """LRNNet's decoder: an SVN (reduced non-local) block and a light classifier.

    `LRNNet <https://arxiv.org/abs/2006.02706>`_ (Jiang et al., ICME-W 2020). The input map
    passes an :class:`SVNBlock` (skipped when ``grid_sizes`` is empty, the paper's Model A),
    then a 3x3 ConvModule to ``channels`` and the toolbox's ``conv_seg`` (1x1 to classes).
    Logits keep the input's resolution (1/8 on LRNNet); the segmentor upsamples them.

    Variants of the paper's ablation: Model A ``grid_sizes=()``, Model B ``(8,)``, Model C
    (LRNNet) ``(8, 4)``.

    Args:
        svn_channels (int): Reduced channels C' of the SVN block. Default: 32.
        grid_sizes (Sequence[int | tuple[int, int]]): SVN region grids. Default: (8, 4).
        num_iters (int): Power-iteration steps. Default: 3.
        eps (float): Power-iteration norm epsilon. Default: 1e-6.
        use_scale (bool): Scale attention logits by 1/sqrt(C'). Default: True.
        svn_cfg (dict | None): Further :class:`SVNBlock` options, e.g.
            ``dict(zero_init=True, signed=True, query_proj=True, learn_temperature=True)``
            (``zero_init``, ``signed``, ``query_proj``, ``learn_temperature``,
            ``scale_values``, ``restore_norm``; see there). Default: None, the block's
            defaults.
        bypass_svn (bool): Skip the SVN block in the forward pass (its weights are still
            built and loaded): a diagnostic that measures what the trained branch carries.
            Default: False.
        **kwargs: :class:`BaseDecodeHead` arguments (``in_channels``, ``channels`` = width of
            the 3x3 classifier conv, ``num_classes``, ``in_index``, ``norm_cfg``, ...).
    """

    def __init__(self,
                 svn_channels: int = 32,
                 grid_sizes: Sequence = (8, 4),
                 num_iters: int = 3,
                 eps: float = 1e-6,
                 use_scale: bool = True,
                 svn_cfg: Optional[dict] = None,
                 bypass_svn: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        if self.input_transform == 'multiple_select':
            raise ValueError("SVNHead takes one feature map; input_transform "
                             "'multiple_select' is not supported")
        if bypass_svn and not grid_sizes:
            raise ValueError('bypass_svn needs an SVN block (non-empty grid_sizes)')
        self.bypass_svn = bypass_svn
        self.svn = SVNBlock(
            self.in_channels, svn_channels, grid_sizes, num_iters, eps, use_scale,
            conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg,
            **(svn_cfg or {})) if grid_sizes else None
        self.classifier = ConvModule(self.in_channels, self.channels, 3, padding=1,
                                     conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg,
                                     act_cfg=self.act_cfg)

    def forward(self, inputs):
        x = self._transform_inputs(inputs)
        if self.svn is not None and not self.bypass_svn:
            x = self.svn(x)
        return self.cls_seg(self.classifier(x))
