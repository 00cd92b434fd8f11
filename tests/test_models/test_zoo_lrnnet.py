"""The LRNNet configs through the shared segmentor checks."""
import pytest
import torch

from helpers import SegmentorTestBase, build_segmentor, count_params

MODEL_C = 'configs/lrnnet/lrnnet_1xb8-160k_cityscapes-512x1024.py'


class TestLRNNet(SegmentorTestBase):
    config = MODEL_C
    output_stride = 8
    # Encoder 635,375 (tests/test_models/test_backbones/test_lrnnet.py derives it by hand)
    # + SVN 8,512 + classifier 36,928 + conv_seg 627 (test_svn_head.py); the target
    # band for Model C with 19 classes is 0.66-0.70 M, the paper's figure 0.68 M.
    exact_params = 681_442

    def test_parameters_in_paper_band(self):
        assert 660_000 <= count_params(self.build()) <= 700_000


@pytest.mark.parametrize('variant, svn_params', [('a', 0), ('b', 8_512), ('c', 8_512)])
def test_ablation_variants(variant, svn_params):
    model = build_segmentor(
        f'configs/lrnnet/lrnnet-model-{variant}_1xb8-160k_cityscapes-512x1024.py')
    assert count_params(model) == 681_442 - 8_512 + svn_params
    expected_s = {'a': None, 'b': 64, 'c': 80}[variant]
    svn = model.decode_head.svn
    assert (svn.num_vectors if svn is not None else None) == expected_s


def test_fp16_autocast_finite():
    model = build_segmentor(MODEL_C).eval()
    with torch.no_grad(), torch.autocast('cpu', dtype=torch.float16):
        logits = model._forward(torch.randn(1, 3, 64, 128))
    assert torch.isfinite(logits.float()).all()


def test_cityscapes_odd_size_361x481_gives_logits_at_input_size():
    from mmseg.structures import SegDataSample
    model = build_segmentor(MODEL_C).eval()
    meta = dict(img_shape=(361, 481), ori_shape=(361, 481), pad_shape=(361, 481))
    with torch.no_grad():
        out = model.predict(torch.randn(1, 3, 361, 481), [SegDataSample(metainfo=meta)])
    assert out[0].seg_logits.data.shape == (19, 361, 481)
