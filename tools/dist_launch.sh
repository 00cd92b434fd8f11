#!/usr/bin/env bash
# Usage: tools/dist_launch.sh SCRIPT NPROC [SCRIPT args...]: one torchrun launch of a tool in
# this folder with --launcher pytorch, shared by dist_train.sh and dist_test.sh.
# Several machines: set NNODES, NODE_RANK, MASTER_ADDR (and PORT) on each.
set -euo pipefail
SCRIPT=$1
NPROC=$2
shift 2
DIR=$(cd "$(dirname "$0")" && pwd)
PYTHONPATH="$DIR/..${PYTHONPATH:+:$PYTHONPATH}" \
exec "${PYTHON:-python}" -m torch.distributed.run \
    --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$NPROC" "$DIR/$SCRIPT" "$@" --launcher pytorch
