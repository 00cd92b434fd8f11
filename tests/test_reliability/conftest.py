"""The reliability suite's summary: a cases x models pass/fail table after the run."""
import time
from collections import defaultdict

import pytest

from reliability_helpers import FAMILIES

ANY_MODEL = 'model-independent'
_results = defaultdict(list)  # (case, column) -> outcomes
_started = []


def _case_and_column(item):
    """Row: the test function; column: its model family. Other parameters (faults,
    modules, dtypes) are variants of one case, counted together in its cell."""
    params = getattr(getattr(item, 'callspec', None), 'params', {})
    case = item.originalname[len('test_'):].replace('_', ' ')
    return case, params.get('family') or ANY_MODEL


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    if not _started:
        _started.append(time.monotonic())
    report = (yield).get_result()
    if report.when == 'call' or (report.when == 'setup' and report.outcome != 'passed'):
        outcome = 'skip' if report.skipped else ('pass' if report.passed else 'FAIL')
        _results[_case_and_column(item)].append(outcome)


def _cell(outcomes):
    if not outcomes:
        return ''
    if 'FAIL' in outcomes:
        return f"FAIL {outcomes.count('FAIL')}/{len(outcomes)}"
    if all(o == 'skip' for o in outcomes):
        return 'skip'
    passed = outcomes.count('pass')
    return 'pass' if len(outcomes) == 1 else f'pass {passed}/{len(outcomes)}'


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not _results:
        return
    columns = list(FAMILIES) + [ANY_MODEL]
    columns = [c for c in columns if any(col == c for _, col in _results)]
    cases = list(dict.fromkeys(case for case, _ in _results))
    width = max(len(c) for c in cases)
    widths = [max(len(c), 9) for c in columns]
    write = terminalreporter.write_line
    terminalreporter.section('reliability summary (cases x models)')
    write(' ' * width + ' | ' + ' | '.join(c.ljust(w) for c, w in zip(columns, widths)))
    write('-' * width + '-+-' + '-+-'.join('-' * w for w in widths))
    for case in cases:
        cells = [_cell(_results.get((case, c), [])) for c in columns]
        write(case.ljust(width) + ' | ' + ' | '.join(x.ljust(w) for x, w in zip(cells, widths)))
    counts = defaultdict(int)
    for outcomes in _results.values():
        for o in outcomes:
            counts[o] += 1
    write(f"{counts['pass']} passed, {counts['FAIL']} failed, {counts['skip']} skipped in "
          f'{time.monotonic() - _started[0]:.0f} s')
