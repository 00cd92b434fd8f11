"""lrseg_mm.utils.timing: latency statistics, FPS arithmetic, inference runners."""
import copy
import statistics

import pytest
import torch
import torch.nn as nn

from lrseg_mm.utils import InferenceRunner, latency_stats, round_robin, toolbox_fps


def test_latency_statistics_by_hand():
    stats = latency_stats([0.010, 0.020, 0.030, 0.060], batch_size=2)
    assert stats['times_ms'] == pytest.approx([10, 20, 30, 60])
    assert stats['mean_ms'] == pytest.approx(30.0)
    assert stats['median_ms'] == pytest.approx(25.0)
    # sample std: deviations -20, -10, 0, 30 -> (400 + 100 + 0 + 900) / 3
    assert stats['std_ms'] == pytest.approx((1400 / 3) ** 0.5)
    assert stats['min_ms'] == pytest.approx(10.0)
    assert stats['fps'] == pytest.approx(2 * 1000 / 30)         # images / s at the mean
    assert stats['fps_median'] == pytest.approx(2 * 1000 / 25)
    assert stats['iters'] == 4 and stats['batch_size'] == 2
    assert latency_stats([0.5])['std_ms'] == 0.0


@pytest.mark.parametrize('times, batch', [([], 1), ([0.1, 0.0], 1), ([float('nan')], 1),
                                          ([0.1], 0)])
def test_latency_statistics_reject_bad_input(times, batch):
    with pytest.raises(ValueError):
        latency_stats(times, batch)


def test_toolbox_fps():
    # mmseg benchmark.py: drop the warm-up calls, FPS = timed calls / their total time.
    assert toolbox_fps([0.5] * 195) == pytest.approx(195 / (195 * 0.5))
    with pytest.raises(ValueError, match='at least one'):
        toolbox_fps([])


class TinySegmentor(nn.Module):
    """Just enough of an EncoderDecoder for the runner: encode_decode and tensor mode."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 2, 1)

    def encode_decode(self, img, metas):
        return nn.functional.interpolate(self.conv(img[..., ::2, ::2]),
                                         size=metas[0]['img_shape'], mode='bilinear')

    def forward(self, img, data_samples=None, mode='tensor'):
        return self.conv(img)


def test_inference_runner_calls_the_logits_function():
    runner = InferenceRunner(TinySegmentor(), (16, 24), batch_size=2)
    assert runner().shape == (2, 2, 16, 24)   # logits at the input size
    cl = InferenceRunner(TinySegmentor(), (16, 24), channels_last=True)
    assert cl.inputs.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize('kwargs, match', [
    (dict(cuda_graph=True), 'CUDA-graph replay needs --device cuda'),
    (dict(mode='slide'), 'mode must be one of'),
    (dict(batch_size=0), 'batch size'),
    (dict(device='tpu'), 'device must be cpu or cuda'),
])
def test_inference_runner_rejects_bad_options(kwargs, match):
    with pytest.raises((ValueError, RuntimeError), match=match):
        InferenceRunner(TinySegmentor(), (16, 24), **kwargs)


def test_fp16_on_cpu_warns_but_runs():
    with pytest.warns(UserWarning, match='not a deployment setting'):
        runner = InferenceRunner(TinySegmentor(), (16, 24), fp16=True)
    assert runner().dtype == torch.float16


def test_stats_of_measured_runner_are_consistent():
    runner = InferenceRunner(TinySegmentor(), (16, 24))
    stats = latency_stats(round_robin({'m': runner}, rounds=3, warmup=1).wall['m'])
    assert stats['iters'] == 3
    assert stats['fps'] == pytest.approx(1000 / statistics.fmean(stats['times_ms']))


class ConvBNSegmentor(TinySegmentor):
    """A conv + eval-mode BN (random statistics) + ReLU, for Inductor's BN folding."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.Conv2d(8, 2, 1))
        bn = self.conv[1]
        with torch.no_grad():
            bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 2), bn.bias.uniform_(-1, 1)


def test_compiled_runner_computes_the_eager_logits():
    from tolerances import assert_within_rounding
    eager = InferenceRunner(ConvBNSegmentor(), (16, 24))
    compiled = InferenceRunner(copy.deepcopy(eager.model), (16, 24), compiled=True)
    # float32 both ways; folding BN into the conv reorders one 27-term sum per layer
    assert_within_rounding(compiled(), eager(), depth=3, fan_in=27)


@pytest.mark.parametrize('kwargs', [dict(mode='predict'), dict(cuda_graph=True)])
def test_compiled_runner_refuses_what_it_cannot_compile(kwargs):
    with pytest.raises(ValueError, match='torch.compile needs'):
        InferenceRunner(TinySegmentor(), (16, 24), compiled=True, **{'device': 'cpu', **kwargs})
