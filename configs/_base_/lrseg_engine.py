# What lrseg-mm's configs opt into from lrseg_mm/engine, through mmengine's own extension
# points; nothing is patched on `import lrseg_mm`. Any config can opt in by listing this file
# among its bases (it sets no key the toolbox's bases set) or by copying the three keys; it
# also needs custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False).

# gloo for --launcher pytorch on CPU-only machines (CUDA/NPU/MLU/MUSA launches unchanged);
# checkpoints load with mmengine's types allow-listed and errors naming the file. The
# toolbox's tools/train.py honours runner_type.
runner_type = 'LrsegRunner'
# DDP that also wraps CPU models (SyncBN -> CPUSyncBatchNorm, device_ids dropped); a CUDA
# model is wrapped exactly as the Runner's default MMDistributedDataParallel
model_wrapper_cfg = dict(type='CPUCapableDistributedDataParallel', broadcast_buffers=False)
custom_hooks = [
    # allow-lists mmengine's checkpoint types while a plain Runner (the toolbox's
    # tools/test.py, which ignores runner_type) loads load_from
    dict(type='SafeCheckpointLoadingHook'),
    # torch's RNG state in checkpoints, so a resumed run's dropout equals an uninterrupted one
    dict(type='RNGStateHook'),
]
