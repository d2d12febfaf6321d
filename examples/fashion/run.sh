#!/usr/bin/env bash
# Fashion-MNIST end to end: train the float network, quantize it with ai8xsim's quantizer
# (ai8x-synthesis quantize.py's rules) at 8, 4, 2 and 1 bits, check that each fits the
# MAX78000, run `ai8xsim eval` on the 10,000 test images per width, run the precision sweep
# (`ai8xsim sweep`: per-layer widths, Pareto fronts), and write RESULTS.md and sweep.svg.
#
#   bash examples/fashion/run.sh            # everything (a few CPU minutes of training)
#   SKIP_TRAIN=1 bash examples/fashion/run.sh   # reuse build-examples/fashion/fashion-float.pth
#
# Needs: the ai8xsim binary (AI8XSIM_BUILD_DIR, default ./build), Debian's
# dataset-fashion-mnist, python3-torch and python3-distributed (the sweep; WORKERS=0 runs it
# without Dask). Outputs go to build-examples/fashion (OUT; git ignores /build*/).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${AI8XSIM_BUILD_DIR:-$ROOT/build}
AI8XSIM=$BUILD/ai8xsim
OUT=${OUT:-$ROOT/build-examples/fashion}
PY=${PYTHON:-/usr/bin/python3}
THREADS=${THREADS:-0}
BITS=${BITS:-"8 4 2 1"}
BUDGET=${BUDGET:-24}
WORKERS=${WORKERS:-}
COMMAND="bash examples/fashion/run.sh"
[ -n "${SKIP_TRAIN:-}" ] && COMMAND="SKIP_TRAIN=1 $COMMAND"

if [ ! -x "$AI8XSIM" ]; then
  echo "run.sh: $AI8XSIM not found: build ai8xsim first (see README.md)" >&2
  exit 1
fi
if [ ! -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ]; then
  echo "run.sh: Fashion-MNIST not found: apt-get install dataset-fashion-mnist" >&2
  exit 1
fi
mkdir -p "$OUT"

if [ -z "${SKIP_TRAIN:-}" ] || [ ! -f "$OUT/fashion-float.pth" ]; then
  "$PY" "$HERE/train.py" --out "$OUT"
fi
"$PY" "$HERE/prepare.py" --out "$OUT"

for b in $BITS; do
  "$AI8XSIM" quantize --config-file "$OUT/fashion.yaml" \
    --checkpoint-file "$OUT/fashion-float.pth.tar" --weight-bits "$b" \
    --output "$OUT/fashion-w$b.npz"
  net=(--config-file "$OUT/fashion.yaml" --checkpoint-file "$OUT/fashion-w$b.npz"
       --device MAX78000)
  "$AI8XSIM" check "${net[@]}" --report "$OUT/check-w$b.json" > "$OUT/check-w$b.txt" || true
  tail -1 "$OUT/check-w$b.txt"
  "$AI8XSIM" eval "${net[@]}" --samples "$OUT/test_x.npy" --labels "$OUT/test_y.npy" \
    --reference "$OUT/float_logits.npy" --threads "$THREADS" \
    --report "$OUT/eval-w$b.json" --outputs "$OUT/chip-w$b.npy" | tee "$OUT/eval-w$b.txt" |
    grep -E "^(accuracy|reference|time):"
done

# The precision sweep: uniform widths, then per-layer lowering by measured sensitivity.
"$AI8XSIM" sweep --config-file "$OUT/fashion.yaml" \
  --checkpoint-file "$OUT/fashion-float.pth.tar" --device MAX78000 \
  --samples "$OUT/test_x.npy" --labels "$OUT/test_y.npy" --budget "$BUDGET" \
  ${WORKERS:+--workers "$WORKERS"} --results-dir "$OUT/sweep" --output "$OUT/sweep.json" \
  --plot "$HERE/sweep.svg" --quiet | tee "$OUT/sweep.txt"

"$PY" "$HERE/results.py" --out "$OUT" --bits $BITS --command "$COMMAND" > "$HERE/RESULTS.md"
echo "-> $HERE/RESULTS.md"
