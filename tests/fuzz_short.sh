#!/usr/bin/env bash
# A short fuzzing run for CI: builds the libFuzzer targets (build-fuzz, clang-14, ASan + UBSan),
# replays every regression input, then fuzzes each target for a bounded time on the seeds made
# by fuzz/seeds.py from ../shared/parity plus the regression inputs. A crash, leak, timeout,
# undefined behaviour or an exception that is not an ai8xsim::Error fails the script; the
# input that caused it is left in $BUILD/fuzz-artifacts/<target>/.
#   AI8XSIM_FUZZ_BUILD_DIR  build directory (default build-fuzz)
#   AI8XSIM_FUZZ_SECONDS    fuzzing time per target (default 30)
#   AI8XSIM_FUZZ_CXXFLAGS   optimisation flags (default -O1 -gline-tables-only: quick to build)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${AI8XSIM_FUZZ_BUILD_DIR:-build-fuzz}
SECONDS_PER_TARGET=${AI8XSIM_FUZZ_SECONDS:-30}
JOBS=$(nproc)
start=$(date +%s)
CC=clang-14 CXX=clang++-14 cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="${AI8XSIM_FUZZ_CXXFLAGS:--O1 -gline-tables-only}" -DAI8XSIM_FUZZ=ON -DAI8XSIM_TESTS=OFF -DAI8XSIM_PYTHON=OFF -DAI8XSIM_SANITIZE=OFF >/dev/null
cmake --build "$BUILD" --target fuzz -j"$JOBS"

/usr/bin/python3 fuzz/seeds.py "$BUILD/fuzz-seeds"
export ASAN_OPTIONS="detect_leaks=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
(cd "$BUILD" && ctest --output-on-failure -R '^fuzz_regressions_')

declare -A MAX_LEN=([yaml]=16384 [npy]=4096 [npz]=16384 [checkpoint]=16384 [c_source]=8192)
# Memory per input, the loaders' documented bounds as properties (README, "Errors"): the
# weights loaders hold to weight_file_limits() of the fixed network on MAX78002 (157 MB of
# records, 39.4 M elements decoded as doubles: at most ~700 MB in all).
declare -A MALLOC_MB=([yaml]=2048 [npy]=2048 [npz]=768 [checkpoint]=768 [c_source]=2048)
for t in yaml npy npz checkpoint c_source; do
  corpus="$BUILD/fuzz-corpus/$t" artifacts="$BUILD/fuzz-artifacts/$t/"
  mkdir -p "$corpus" "$artifacts"
  log="$BUILD/fuzz-$t.log"
  echo "== fuzz_$t for ${SECONDS_PER_TARGET} s"
  if ! "$BUILD/fuzz/fuzz_$t" "$corpus" "$BUILD/fuzz-seeds/$t" "tests/data/fuzz-regressions/$t" \
      -max_total_time="$SECONDS_PER_TARGET" -max_len="${MAX_LEN[$t]}" -rss_limit_mb=2048 \
      -malloc_limit_mb="${MALLOC_MB[$t]}" -timeout=10 -artifact_prefix="$artifacts" -print_final_stats=1 \
      >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    echo "fuzz_$t: finding; the input is in $artifacts" >&2
    exit 1
  fi
  grep -E "^#[0-9]+[[:space:]]+(INITED|DONE)|^Done [0-9]+ runs|^stat::peak_rss_mb" "$log"
done
echo "fuzz_short.sh: passed in $(( $(date +%s) - start )) s"
