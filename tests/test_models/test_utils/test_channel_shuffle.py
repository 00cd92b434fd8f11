import pytest
import torch

from lrseg_mm.models.utils import channel_shuffle


def test_interleaves_groups():
    x = torch.arange(6.).view(1, 6, 1, 1)
    assert channel_shuffle(x, 2).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert channel_shuffle(x, 3).flatten().tolist() == [0, 2, 4, 1, 3, 5]


def test_rejects_indivisible_channels():
    with pytest.raises(ValueError, match='not divisible'):
        channel_shuffle(torch.zeros(1, 5, 2, 2), 2)
