from .compat import allow_mmengine_checkpoints, apply_all, enable_cpu_distributed

__all__ = ['allow_mmengine_checkpoints', 'apply_all', 'enable_cpu_distributed']
