#!/usr/bin/env bash
# Creates .venv/ with the pinned stack. Idempotent: a stamp file records the requirements
# it was built from, so a second run with nothing changed returns at once.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
STAMP=.venv/.lrseg-mm-installed
WANT=$(cat pyproject.toml tools/setup_env.sh | sha1sum | cut -c1-40)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
  exit 0
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=".venv/bin/python -m pip"
# The CPU build of torch lies on this machine's disk; a bare `torch` would pull a CUDA build.
$PIP install -q 'torch==2.13.0'
# torch pulls the newest setuptools; 82+ lacks pkg_resources, which mmcv's setup.py and
# mmengine's `mmseg::` config lookup import.
$PIP install -q 'setuptools>=77.0.3,<82' wheel 'numpy>=1.26,<3' packaging
# mmcv must carry its compiled ops (mmseg imports mmcv.ops); pip caches the built wheel.
MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-$(nproc)} $PIP install -q --no-build-isolation 'mmcv==2.1.0'
$PIP install -q -e '.[tests]'
echo "$WANT" > "$STAMP"
