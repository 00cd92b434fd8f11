"""CamVid benchmark: every model of :data:`benchmarks.camvid.models.MODELS` trained from
scratch with one recipe and budget, evaluated on val and timed on the CPU (commands:
``python -m benchmarks.camvid --help``; protocol: BENCHMARKS.md). Modules: ``models``,
``runs`` (running and resuming), ``analysis``, ``report`` (tables, plots, pictures)."""
