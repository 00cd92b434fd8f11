"""What the checkpoint converters of ``tools/model_converters`` share: reading, arch
choice, block counts, exact key checks, key mapping and the command line. A norm (known by
its ``running_var``) may lack ``num_batches_tracked`` in the source (InPlace-ABN and
PyTorch < 0.4.1 have none); it is then written as 0.
"""
import argparse
import os
import os.path as osp
import re
from collections import OrderedDict
from typing import Callable, Iterable, Mapping, Optional, Sequence, Tuple

import torch

RUNNING_VAR = '.running_var'
NUM_BATCHES_TRACKED = '.num_batches_tracked'
SHOWN_KEYS = 8  # how many missing / unknown keys an error message names


def unwrap_state_dict(checkpoint, src: str = 'checkpoint') -> 'OrderedDict[str, torch.Tensor]':
    """The tensors of a checkpoint, in order, without wrapper or ``module.`` prefix;
    ValueError if it is not a dict of tensors.

    Args:
        checkpoint: A state dict, bare or under ``state_dict`` or ``model`` (the first that
            holds a dict), keys with or without (Distributed)DataParallel's ``module.``.
        src: What the checkpoint is called in error messages (e.g. its path).
    """
    if not isinstance(checkpoint, dict):
        raise ValueError(f'{src}: expected a state dict, got {type(checkpoint).__name__}')
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state = OrderedDict()
    for key, value in checkpoint.items():
        if not isinstance(value, torch.Tensor):
            raise ValueError(f'{src}: entry {key!r} is a {type(value).__name__}, not a tensor; '
                             'is this a state dict?')
        state[key[len('module.'):] if key.startswith('module.') else key] = value
    return state


def resolve_arch(checkpoint, arch: Optional[str], archs: Sequence[str],
                 detect_arch: Callable[[Mapping[str, torch.Tensor]], str]
                 ) -> Tuple['OrderedDict[str, torch.Tensor]', str]:
    """A converter's input: the unwrapped state dict and the arch to convert it as
    (ValueError for an unknown arch).

    Args:
        checkpoint: As for :func:`unwrap_state_dict`.
        arch: The arch asked for; None to detect it.
        archs: The known archs, in the order the error message lists them.
        detect_arch: Finds the arch from the unwrapped state dict (or raises ValueError).
    """
    state = unwrap_state_dict(checkpoint)
    arch = arch or detect_arch(state)
    if arch not in archs:
        raise ValueError(f'unknown arch {arch!r}; choose one of {list(archs)}')
    return state, arch


def count_blocks(state: Iterable[str], prefix: str = '', stages: int = 4) -> Tuple[int, ...]:
    """The number of residual blocks (distinct ``{prefix}layer{stage}.{index}.conv1.weight``
    keys) in each stage of a torchvision-named ResNet.

    Args:
        state: A state dict or its keys.
        prefix: What precedes ``layer1`` etc. in the keys, e.g. ``'backbone.'``.
        stages: How many stages (``layer1`` .. ``layer{stages}``) to count.
    """
    keys = list(state)
    counts = []
    for stage in range(1, stages + 1):
        pattern = re.compile(rf'{re.escape(prefix)}layer{stage}\.(\d+)\.conv1\.weight$')
        counts.append(len({int(m.group(1)) for m in map(pattern.match, keys) if m}))
    return tuple(counts)


def _shown(keys: Sequence[str]) -> str:
    """The first few keys, for a message."""
    return f'{list(keys[:SHOWN_KEYS])}{" ..." if len(keys) > SHOWN_KEYS else ""}'


def check_keys(state: Mapping[str, torch.Tensor], mapping: Iterable[str], layout: str,
               dropped: Iterable[str] = ()) -> None:
    """Check that a state dict has exactly the keys a conversion maps or drops (a norm's
    ``num_batches_tracked`` optional); a ValueError counts and names missing and unknown keys.

    Args:
        state: The (unwrapped) source state dict.
        mapping: The source keys the conversion maps (e.g. a mapping's keys).
        layout: The expected layout's name, for the message (``'official ShelfNet18-lw'``).
        dropped: Source keys that may be in ``state`` and are not converted.
    """
    mapped, dropped = list(mapping), set(dropped)
    norms = {k[:-len(RUNNING_VAR)] for k in (*mapped, *dropped) if k.endswith(RUNNING_VAR)}
    allowed = set(mapped) | dropped | {f'{norm}{NUM_BATCHES_TRACKED}' for norm in norms}
    unknown = sorted(k for k in state if k not in allowed)
    missing = sorted(k for k in mapped if k not in state)
    if unknown or missing:
        raise ValueError(
            f'state dict does not fit the {layout} layout: {len(missing)} missing keys '
            f'{_shown(missing)}, {len(unknown)} unknown keys {_shown(unknown)}')


def apply_key_mapping(state: Mapping[str, torch.Tensor], mapping: Mapping[str, str],
                      transform: Optional[Callable[[str, torch.Tensor], torch.Tensor]] = None
                      ) -> 'OrderedDict[str, torch.Tensor]':
    """Our state dict: the tensors of ``state`` renamed (and optionally transformed), each
    norm's ``num_batches_tracked`` following its ``running_var`` (0 where absent). KeyError
    for a missing key (run :func:`check_keys` first), ValueError if two map to one key.

    Args:
        state: The source state dict; it is not changed.
        mapping: Source key -> our key, in the order the result should have.
        transform: Called with the source key and tensor, returns our tensor; default: a
            clone of the source tensor.
    """
    out = OrderedDict()
    for src, dst in mapping.items():
        if dst in out:
            raise ValueError(f'{src!r} maps to {dst!r}, which another key already maps to')
        value = state[src]
        out[dst] = transform(src, value) if transform is not None else value.clone()
        if src.endswith(RUNNING_VAR):
            norm_src, norm_dst = src[:-len(RUNNING_VAR)], dst[:-len(RUNNING_VAR)]
            tracked = state.get(f'{norm_src}{NUM_BATCHES_TRACKED}')
            out[f'{norm_dst}{NUM_BATCHES_TRACKED}'] = (
                tracked.clone() if tracked is not None else torch.tensor(0, dtype=torch.long))
    return out


def run_converter_cli(convert: Callable[[dict, Optional[str]], Tuple[dict, str]], description: str,
                      archs: Sequence[str], model_name: Callable[[str], str],
                      arch_help: str = 'variant (default: found from the keys)',
                      argv: Optional[Sequence[str]] = None) -> None:
    """The command line ``SRC DST [--arch ARCH]`` of a checkpoint converter: loads SRC (path
    or URL) with mmengine's ``CheckpointLoader``, converts it and saves
    ``dict(state_dict=..., meta=dict(converted_from=SRC, arch=model_name(arch)))`` to DST.

    Args:
        convert: Takes the unwrapped source state dict and the ``--arch`` value (None when
            not given), returns our state dict and the arch it converted.
        description: The ``--help`` description.
        archs: The choices of ``--arch``, in the order ``--help`` lists them.
        model_name: The model's name for an arch, saved in the meta and printed.
        arch_help: The ``--help`` text of ``--arch``.
        argv: The arguments; default ``sys.argv[1:]``.
    """
    from mmengine.runner import CheckpointLoader

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('src', help='official checkpoint: path or URL')
    parser.add_argument('dst', help='where to save the converted checkpoint')
    parser.add_argument('--arch', choices=archs, help=arch_help)
    args = parser.parse_args(argv)
    checkpoint = CheckpointLoader.load_checkpoint(args.src, map_location='cpu')
    state, arch = convert(unwrap_state_dict(checkpoint, args.src), args.arch)
    if osp.dirname(args.dst):
        os.makedirs(osp.dirname(args.dst), exist_ok=True)
    name = model_name(arch)
    torch.save(dict(state_dict=state, meta=dict(converted_from=args.src, arch=name)), args.dst)
    print(f'{name}: {len(state)} tensors written to {args.dst}')
