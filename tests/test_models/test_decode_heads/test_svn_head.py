import pytest
import torch

from lrseg_mm.models.decode_heads import SVNHead

from helpers import count_params


def make_head(**kwargs):
    cfg = dict(in_channels=128, in_index=2, channels=32, num_classes=19,
               norm_cfg=dict(type='BN'))
    cfg.update(kwargs)
    return SVNHead(**cfg)


def feats(h=16, w=32):
    return [torch.randn(1, 32, 4 * h, 4 * w), torch.randn(1, 64, 2 * h, 2 * w),
            torch.randn(1, 128, h, w)]


@pytest.mark.parametrize('grid_sizes, num_vectors', [((), 0), ((8, ), 64), ((8, 4), 80)])
def test_model_a_b_c(grid_sizes, num_vectors):
    head = make_head(grid_sizes=grid_sizes).eval()
    assert (head.svn is None) == (num_vectors == 0)
    if head.svn is not None:
        assert head.svn.num_vectors == num_vectors
    assert head(feats()).shape == (1, 19, 16, 32)


def test_parameter_count_by_hand():
    svn = (128 * 32 + 2 * 32) + (32 * 128 + 2 * 128)  # reduce + restore 1x1 convs with BN
    classifier = 9 * 128 * 32 + 2 * 32 + 32 * 19 + 19  # 3x3 ConvModule + conv_seg
    assert count_params(make_head()) == svn + classifier
    assert count_params(make_head(grid_sizes=())) == classifier


def test_svn_changes_the_output():
    torch.manual_seed(0)
    a, c = make_head(grid_sizes=()).eval(), make_head().eval()
    c.load_state_dict(a.state_dict(), strict=False)
    x = feats()
    assert not torch.allclose(a(x), c(x))


def test_multiple_select_rejected():
    with pytest.raises(ValueError, match='multiple_select'):
        SVNHead(in_channels=[64, 128], in_index=[1, 2], channels=32, num_classes=19,
                input_transform='multiple_select')


def test_unknown_argument_fails_at_build():
    from mmseg.registry import MODELS
    with pytest.raises(TypeError, match='svn_chanels'):
        MODELS.build(dict(type='SVNHead', in_channels=128, channels=32, num_classes=19,
                          svn_chanels=16))


def test_svn_cfg_reaches_the_block_and_counts_the_query_projection():
    head = make_head(svn_cfg=dict(zero_init=True, signed=True, query_proj=True,
                                  learn_temperature=True))
    assert head.svn.query is not None and head.svn.sign_reference == 'energy'
    # the query 1x1 conv with BN, and the log temperature
    assert count_params(head) == count_params(make_head()) + (128 * 32 + 2 * 32) + 1
    with pytest.raises(TypeError, match='zero_inti'):
        make_head(svn_cfg=dict(zero_inti=True))


def test_bypass_svn_equals_the_head_without_its_block():
    torch.manual_seed(0)
    c = make_head().eval()
    bypassed = make_head(bypass_svn=True).eval()
    bypassed.load_state_dict(c.state_dict())  # the block's weights are built and loaded
    a = make_head(grid_sizes=()).eval()
    a.load_state_dict(c.state_dict(), strict=False)
    x = feats()
    assert torch.equal(bypassed(x), a(x)) and not torch.equal(bypassed(x), c(x))
    with pytest.raises(ValueError, match='bypass_svn needs an SVN block'):
        make_head(grid_sizes=(), bypass_svn=True)
