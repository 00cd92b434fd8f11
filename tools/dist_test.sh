#!/usr/bin/env bash
# Usage: tools/dist_test.sh CONFIG CHECKPOINT NPROC [test.py args...]
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
shift 3
exec "$(dirname "$0")/dist_launch.sh" test.py "$NPROC" "$CONFIG" "$CHECKPOINT" "$@"
