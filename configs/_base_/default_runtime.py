# The toolbox's runtime plus lrseg-mm's engine extensions (./lrseg_engine.py: our Runner,
# the CPU-capable DDP wrapper, safe checkpoint loading and the RNG-state hook).
_base_ = ['mmseg::_base_/default_runtime.py', './lrseg_engine.py']
custom_imports = dict(imports=['lrseg_mm'], allow_failed_imports=False)
