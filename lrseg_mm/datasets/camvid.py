from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS


@DATASETS.register_module()
class CamVidDataset(BaseSegDataset):
    """CamVid in the SegNet layout: 11 classes plus void.

    `Brostow et al., 2009 <http://mi.eng.cam.ac.uk/research/projects/VideoRec/CamVid/>`_,
    as split by SegNet (367 train, 101 val, 233 test images at 360x480)::

        CamVid/{train,val,test}/*.png          images
        CamVid/{train,val,test}annot/*.png     labels 0..10, 11 = void

    Void (id 11) is mapped to the ignore index 255 when labels are loaded, so losses and
    metrics skip it.

    Args:
        img_suffix (str): Image file suffix. Default: '.png'.
        seg_map_suffix (str): Label file suffix. Default: '.png'.
        **kwargs: :class:`BaseSegDataset` arguments (``data_root``, ``data_prefix``, ...).
    """
    METAINFO = dict(
        classes=('sky', 'building', 'pole', 'road', 'pavement', 'tree', 'signsymbol',
                 'fence', 'car', 'pedestrian', 'bicyclist'),
        palette=[[128, 128, 128], [128, 0, 0], [192, 192, 128], [128, 64, 128],
                 [60, 40, 222], [128, 128, 0], [192, 128, 128], [64, 64, 128],
                 [64, 0, 128], [64, 64, 0], [0, 128, 192]])
    VOID_ID = 11

    def __init__(self, img_suffix='.png', seg_map_suffix='.png', **kwargs):
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)

    @classmethod
    def get_label_map(cls, new_classes=None):
        """The toolbox's class-subset map, with void sent to the ignore index."""
        label_map = super().get_label_map(new_classes)
        if label_map is None:
            label_map = {i: i for i in range(len(cls.METAINFO['classes']))}
        label_map[cls.VOID_ID] = 255
        return label_map
