"""lrseg_mm.utils.timing: the round-robin timer and the paired ratio (no timed assertions)."""
import pytest

from lrseg_mm.utils import cpu_model_name, device_description, paired_ratio, round_robin


def test_paired_ratio_is_median_of_round_ratios():
    assert paired_ratio([1, 2, 9], [2, 2, 3]) == pytest.approx(1.0)  # ratios .5, 1, 3
    with pytest.raises(ValueError):
        paired_ratio([1], [1, 2])
    with pytest.raises(ValueError):
        paired_ratio([], [])


def test_every_callable_runs_once_per_round_in_a_shuffled_order():
    order = []
    calls = {name: (lambda name=name: order.append(name)) for name in 'abcd'}
    times = round_robin(calls, rounds=5, warmup=2)
    assert times.rounds == 5
    assert all(len(times.wall[n]) == len(times.cpu[n]) == 5 for n in 'abcd')
    rounds = [order[i:i + 4] for i in range(0, len(order), 4)]
    assert len(rounds) == 7 and all(sorted(r) == list('abcd') for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1  # not always the same order
    assert times.median_ms('a') >= 0 and times.ratio('a', 'nothing') is None
    with pytest.raises(ValueError, match='rounds'):
        round_robin(calls, rounds=0)


def test_a_failing_callable_is_dropped_or_ends_the_measurement():
    def broken():
        raise RuntimeError('no kernel')

    calls = {'ok': lambda: None, 'broken': broken}
    times = round_robin(calls, rounds=3, drop_failures=True)
    assert list(times.wall) == ['ok'] and len(times.wall['ok']) == 3
    assert 'no kernel' in times.failed['broken']
    with pytest.raises(RuntimeError, match='no kernel'):
        round_robin(calls, rounds=3)


def test_a_time_budget_stops_after_the_minimal_rounds():
    times = round_robin({'a': lambda: None}, rounds=100, budget_s=0.0, min_rounds=3)
    assert times.rounds == 3


def test_cpu_model_name_is_the_cpuinfo_model_line():
    name = cpu_model_name()
    assert name and name == name.strip() and name in device_description('cpu')
    try:
        with open('/proc/cpuinfo') as f:
            lines = [line for line in f if line.startswith('model name')]
    except OSError:
        lines = []
    if lines:  # Linux: the first core's model string, as benchmarks print it
        assert name == lines[0].split(':', 1)[1].strip()
