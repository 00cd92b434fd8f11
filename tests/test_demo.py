"""`make demo`, the README's first command, shrunk through its Makefile variables."""
import glob
import os
import subprocess

from helpers import REPO


def test_make_demo_generates_trains_evaluates_and_draws(tmp_path):
    work_dir, data = tmp_path / 'demo', tmp_path / 'data'
    result = subprocess.run(
        ['make', 'demo', 'DEMO_ITERS=4', f'DEMO_DIR={work_dir}', f'DEMO_DATA={data}',
         'SYNTHETIC_ARGS=--num-train 8 --num-val 4 --size 64 128'],
        cwd=REPO, capture_output=True, text=True, timeout=600,
        env=dict(os.environ, OMP_NUM_THREADS='1', PYTHONWARNINGS='ignore'))
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert len(glob.glob(str(data / 'leftImg8bit' / 'val' / '*' / '*.png'))) == 4
    assert (work_dir / 'iter_4.pth').is_file()
    assert 'mIoU' in out
    pictures = glob.glob(str(work_dir / 'pictures' / 'vis_data' / 'vis_image' / '*.png'))
    assert len(pictures) == 4  # one per val image
