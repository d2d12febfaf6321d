#!/usr/bin/env bash
# The per-layer weight widths that make the pose student fit the MAX78000 with the most 8-bit
# layers: `ai8xsim sweep` without samples (fit only: the student has no labelled data here, and
# the weights are random of the right shapes), so the layers are lowered largest first.
#   bash examples/pose/sweep.sh        (AI8XSIM_BUILD_DIR: where ai8xsim is, default ./build)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AI8XSIM=${AI8XSIM_BUILD_DIR:-$ROOT/build}/ai8xsim
OUT=${OUT:-$ROOT/build-examples/pose}
PY=${PYTHON:-/usr/bin/python3}
"$PY" "$HERE/make_checkpoint.py" --float --out "$OUT"
"$AI8XSIM" sweep --config-file "$HERE/pose.yaml" --checkpoint-file "$OUT/pose-float.pth.tar" \
  --device MAX78000 --input-shape 3,128,128 --widths 8,4 --budget 40 --workers 0 \
  --results-dir "$OUT/sweep" --output "$OUT/sweep.json" --quiet
