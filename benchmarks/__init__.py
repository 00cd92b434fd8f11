"""The project's benchmarks, each run from the repository root as ``python -m benchmarks.<name>``:

* ``camvid``: train every model from scratch on CamVid, evaluate on val, time on the CPU;
* ``peer_table``: latency of our models against the toolbox's real-time zoo, eager and
  deployed (ONNX Runtime, OpenVINO, INT8);
* ``svn_vs_nonlocal``: LRNNet's SVN head against the toolbox's non-local head;
* ``cpu_profile``: where LRNNet's CPU time goes, next to its peers'.

Timing is :func:`lrseg_mm.utils.round_robin` (shared with ``tools/benchmark.py``); the
generated sections of the documents are written by :mod:`benchmarks.sections`.
"""
