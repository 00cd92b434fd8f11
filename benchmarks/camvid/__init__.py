"""CamVid benchmark: train models from scratch with one recipe, evaluate on val, time them.

Every model of :data:`benchmarks.camvid.models.MODELS` trains from scratch on CamVid train
(SegNet split, 11 classes, 360x480) with the shared recipe of
``configs/_base_/camvid_benchmark_recipe.py`` and the same budget in epochs. Modules:
``models`` (models and ablation variants), ``runs`` (data, budget, training and test runs,
results and their archive: running and resuming), ``analysis`` (seeds together, table rows,
SVN diagnostics, class weights), ``report`` (tables, plots, pictures), ``__main__`` (the
command line). From the repository root::

    python -m benchmarks.camvid list
    python -m benchmarks.camvid run --models all --seeds 0             # train, evaluate, report
    python -m benchmarks.camvid run --models lrnnet-c lrnnet-c-drop0 --seeds 0 1 --epochs 10
    python -m benchmarks.camvid report                                  # tables and plot only
    python -m benchmarks.camvid pictures --models lrnnet-c --seeds 0    # docs/camvid_*.png
    python -m benchmarks.camvid confusion --models lrnnet-c --seeds 0   # where pixels go

Finished steps are skipped (a run with ``result.json`` or an archived result is done; a run
with its final checkpoint only needs evaluating), so repeating a command after an
interruption continues it. Frames are read from ``--data-root`` (default
``../shared/data/camvid``); runs go outside the checkout (default ``~/runs/camvid``).
"""
