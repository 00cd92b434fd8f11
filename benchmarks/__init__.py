"""The project's benchmarks, each run from the repository root as
``python -m benchmarks.<name>`` (``camvid``, ``peer_table``, ``svn_vs_nonlocal``,
``cpu_profile``); what each measures and how to reproduce it: BENCHMARKS.md."""
