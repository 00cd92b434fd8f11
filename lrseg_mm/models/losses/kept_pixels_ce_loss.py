"""Cross-entropy averaged over the pixels a sampler kept (ShelfNet-lw's ``OhemCELoss``)."""
from mmseg.models.losses import CrossEntropyLoss
from mmseg.registry import MODELS


@MODELS.register_module()
class KeptPixelsCrossEntropyLoss(CrossEntropyLoss):
    """Softmax cross-entropy whose mean runs over the pixels with a non-zero ``weight``.

    The official ShelfNet-lw (and BiSeNet) ``OhemCELoss`` keeps the pixels whose loss
    exceeds ``-log(0.7)`` (at least ``n_min`` of them) and returns the **mean over the kept
    pixels** (``loss.py`` of https://github.com/CoinCheung/BiSeNet, used by
    ``ShelfNet18_realtime/train.py``). mmseg's ``OHEMPixelSampler`` picks the same pixels
    and hands them to the loss as a 0/1 ``weight``, but mmseg 1.2.2's ``cross_entropy``
    divides the weighted sum by the number of all pixels (or, with ``avg_non_ignore``, of
    the non-ignored ones) and the decode head passes no ``avg_factor``: the mean is diluted
    by the pixels that were not kept. This loss divides by ``sum(weight)`` instead (by
    ``sum(weight * class_weight[label])`` with class weights, the way PyTorch's weighted
    mean does), so with the sampler it is the official loss.

    With ``class_weight`` and no ``weight`` it is PyTorch's weighted mean over the
    non-ignored pixels (``sum(w[label] * loss) / sum(w[label])``), which mmseg 1.2.2's
    ``cross_entropy`` cannot give: it indexes the class weights with the labels, the ignore
    label included, and fails on any batch with ignored pixels. Without either it is
    :class:`mmseg.models.losses.CrossEntropyLoss`.
    One corner case differs from the official code: when fewer valid pixels exist than
    ``n_min``, the official mean also counts ignored pixels (with loss 0); here only valid
    pixels are kept and averaged.

    Args:
        use_sigmoid (bool): Must be False (softmax only); accepted so that a
            ``CrossEntropyLoss`` config switches by its ``type``. Default: False.
        use_mask (bool): Must be False. Default: False.
        class_weight (list[float] | str, optional): Per-class weights. Default: None.
        loss_weight (float): Loss weight. Default: 1.0.
        loss_name (str): Name in the loss dict. Default: 'loss_ce'.
        avg_non_ignore (bool): Used only without ``weight``. Default: False.
    """

    def __init__(self, use_sigmoid=False, use_mask=False, class_weight=None, loss_weight=1.0,
                 loss_name='loss_ce', avg_non_ignore=False):
        if use_sigmoid or use_mask:
            raise ValueError('KeptPixelsCrossEntropyLoss is a softmax cross-entropy: '
                             'use_sigmoid and use_mask must be False')
        super().__init__(use_sigmoid=False, use_mask=False, reduction='mean',
                         class_weight=class_weight, loss_weight=loss_weight,
                         loss_name=loss_name, avg_non_ignore=avg_non_ignore)

    def forward(self, cls_score, label, weight=None, avg_factor=None,
                reduction_override=None, ignore_index=-100, **kwargs):
        """Loss of ``cls_score`` (N, C, H, W) against ``label`` (N, H, W).

        With ``weight`` (N, H, W) or class weights and a mean reduction, the average factor
        is the kept (weighted) pixel count; everything else is :class:`CrossEntropyLoss`'s.
        """
        reduction = reduction_override if reduction_override else self.reduction
        if avg_factor is None and reduction == 'mean' and (
                weight is not None or self.class_weight is not None):
            kept = (label != ignore_index).float()
            if weight is not None:
                kept = kept * weight.float()
            if self.class_weight is not None:
                class_weight = cls_score.new_tensor(self.class_weight)
                kept = kept * class_weight[label.clamp(0, len(class_weight) - 1)]
            avg_factor = kept.sum()
        return super().forward(cls_score, label, weight=weight, avg_factor=avg_factor,
                               reduction_override=reduction_override,
                               ignore_index=ignore_index, **kwargs)
