#!/usr/bin/env bash
# Usage: tools/dist_train.sh CONFIG NPROC [train.py args...]
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on each.
set -euo pipefail
CONFIG=$1
NPROC=$2
shift 2
exec "$(dirname "$0")/dist_launch.sh" train.py "$NPROC" "$CONFIG" "$@"
