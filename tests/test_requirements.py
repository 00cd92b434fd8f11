"""pyproject.toml's torch floor is at least what the code needs."""
import os.path as osp
import re
import tomllib

import torch

from helpers import REPO

# torch APIs and behaviour the package relies on, with the release that brought them.
NEEDS = {
    # checkpoint loading leaves weights_only to torch, which must default to safe loading
    'torch.load(weights_only=True) by default': (2, 6),
    'torch.serialization.add_safe_globals((obj, name)) tuples': (2, 6),
    'torch.serialization.safe_globals': (2, 5),
    'torch.serialization.get_unsafe_globals_in_checkpoint': (2, 5),
    "torch.amp.GradScaler('cpu')": (2, 3),
    'torch.compiler.is_compiling': (2, 3),
}


def _torch_floor():
    with open(osp.join(REPO, 'pyproject.toml'), 'rb') as f:
        dependencies = tomllib.load(f)['project']['dependencies']
    spec = next(d for d in dependencies if re.match(r'torch\b', d))
    floor = re.search(r'>=\s*(\d+)\.(\d+)', spec)
    assert floor, f'no lower bound in {spec!r}'
    return int(floor.group(1)), int(floor.group(2))


def test_torch_floor_covers_what_the_code_uses():
    floor = _torch_floor()
    too_new = {api: need for api, need in NEEDS.items() if need > floor}
    assert not too_new, f'pyproject allows torch {floor}, but the code needs {too_new}'


def test_the_apis_exist_in_the_installed_torch():
    assert callable(torch.serialization.safe_globals)
    assert callable(torch.serialization.get_unsafe_globals_in_checkpoint)
    assert callable(torch.compiler.is_compiling)
    assert torch.amp.GradScaler('cpu').is_enabled()
