#!/usr/bin/env bash
# The pose student of seeds/002 against both devices: make a random-weight checkpoint of the
# right shapes, then `ai8xsim check` pose.yaml and pose-stride2.yaml on the MAX78000 and the
# MAX78002. CHECK.md holds this output and explains the verdicts.
#   bash examples/pose/check.sh        (AI8XSIM_BUILD_DIR: where ai8xsim is, default ./build)
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
AI8XSIM=${AI8XSIM_BUILD_DIR:-$ROOT/build}/ai8xsim
OUT=${OUT:-$ROOT/build-examples/pose}
PY=${PYTHON:-/usr/bin/python3}
"$PY" "$HERE/make_checkpoint.py" --out "$OUT" || exit 1
cd "$ROOT"
for yaml in pose.yaml pose-stride2.yaml; do
  for device in MAX78000 MAX78002; do
    echo "\$ ai8xsim check --config-file examples/pose/$yaml --checkpoint-file pose-q.pth.tar --device $device"
    "$AI8XSIM" check --config-file "examples/pose/$yaml" --checkpoint-file "$OUT/pose-q.pth.tar" \
      --device "$device" 2>&1
    echo "(exit status $?)"
    echo
  done
done
