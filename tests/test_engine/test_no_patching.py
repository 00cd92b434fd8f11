"""`import lrseg_mm` (which every config's custom_imports triggers) changes nothing in torch
or mmengine: the plugin is a guest in other people's processes."""
import json
import subprocess
import sys

from helpers import REPO

# Runs in a fresh interpreter: fingerprints of everything the plugin used to patch, taken
# before and after the import.
PROBE = r'''
import json
import torch
import torch.serialization
from mmengine.dist import utils as dist_utils
from mmengine.model.wrappers import distributed as mm_ddp
from mmengine.runner.checkpoint import CheckpointLoader

def fingerprint():
    return dict(
        checkpoint_schemes={k: f'{v.__module__}.{v.__qualname__}'
                            for k, v in CheckpointLoader._schemes.items()},
        init_dist_pytorch=id(dist_utils._init_dist_pytorch),
        init_dist=id(dist_utils.init_dist),
        ddp_init=id(mm_ddp.MMDistributedDataParallel.__init__),
        torch_load=id(torch.load),
        safe_globals=sorted(map(repr, torch.serialization.get_safe_globals())))

before = fingerprint()
import lrseg_mm  # noqa: F401
import lrseg_mm.apis, lrseg_mm.utils  # noqa: F401,E401
print(json.dumps(dict(before=before, after=fingerprint())))
'''


def test_import_patches_nothing():
    result = subprocess.run([sys.executable, '-c', PROBE], cwd=REPO, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    for key, before in probe['before'].items():
        assert probe['after'][key] == before, key
    # mmengine's own local loader is still the one for plain paths
    assert probe['after']['checkpoint_schemes'][''].startswith('mmengine.')
