#!/usr/bin/env bash
# Fashion-MNIST end to end: train the float network, quantize it at 8, 4, 2 and 1 bits, check
# that each fits the MAX78000, run `ai8xsim eval` on the 10,000 test images per width, and
# write RESULTS.md (float accuracy, chip accuracy per width, samples/s).
#
#   bash examples/fashion/run.sh            # everything (a few CPU minutes of training)
#   SKIP_TRAIN=1 bash examples/fashion/run.sh   # reuse build-examples/fashion/fashion-float.pth
#
# Needs: the ai8xsim binary (AI8XSIM_BUILD_DIR, default ./build), Debian's
# dataset-fashion-mnist and python3-torch. Outputs go to build-examples/fashion (OUT; git ignores /build*/).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${AI8XSIM_BUILD_DIR:-$ROOT/build}
AI8XSIM=$BUILD/ai8xsim
OUT=${OUT:-$ROOT/build-examples/fashion}
PY=${PYTHON:-/usr/bin/python3}
THREADS=${THREADS:-0}
BITS=${BITS:-"8 4 2 1"}
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

for b in $BITS; do
  "$PY" "$HERE/quantize.py" --bits "$b" --float "$OUT/fashion-float.pth" --out "$OUT" --emulate
  net=(--config-file "$OUT/fashion-w$b.yaml" --checkpoint-file "$OUT/fashion-w$b-q.pth.tar"
       --device MAX78000)
  "$AI8XSIM" check "${net[@]}" --report "$OUT/check-w$b.json" > "$OUT/check-w$b.txt"
  tail -1 "$OUT/check-w$b.txt"
  "$AI8XSIM" eval "${net[@]}" --samples "$OUT/test_x.npy" --labels "$OUT/test_y.npy" \
    --reference "$OUT/float_logits.npy" --threads "$THREADS" \
    --report "$OUT/eval-w$b.json" --outputs "$OUT/chip-w$b.npy" | tee "$OUT/eval-w$b.txt" |
    grep -E "^(accuracy|reference|time):"
done

"$PY" "$HERE/results.py" --out "$OUT" --bits $BITS --command "$COMMAND" > "$HERE/RESULTS.md"
echo "-> $HERE/RESULTS.md"
