#!/usr/bin/env bash
# The unit tests, the bad-input tests and a reduced parity set under AddressSanitizer (with
# leak detection) and UndefinedBehaviorSanitizer: a separate build (build-asan, g++, -O1)
# with -DAI8XSIM_SANITIZE=ON. Any sanitizer report fails the script, also one from a run whose
# test would otherwise pass (reports go to log files that must stay empty).
#   AI8XSIM_ASAN_BUILD_DIR  build directory (default build-asan)
#   AI8XSIM_PARITY_SUBSET   parity cases to run (default 40, spread over both devices)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${AI8XSIM_ASAN_BUILD_DIR:-build-asan}
JOBS=$(nproc)
start=$(date +%s)
CC=${AI8XSIM_ASAN_CC:-gcc} CXX=${AI8XSIM_ASAN_CXX:-g++} cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DAI8XSIM_SANITIZE=ON -DAI8XSIM_TESTS=ON \
  -DAI8XSIM_PYTHON=OFF -DAI8XSIM_FUZZ=OFF >/dev/null
cmake --build "$BUILD" -j"$JOBS"

LOGS="$PWD/$BUILD/sanitizer-logs"
rm -rf "$LOGS" && mkdir -p "$LOGS"
export ASAN_OPTIONS="detect_leaks=1:log_path=$LOGS/asan:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$LOGS/ubsan"
export LSAN_OPTIONS="log_path=$LOGS/lsan"

status=0
# The unit tests, less those that walk the whole corpus (names starting "corpus:"; 30 s in a
# release build, over 10 minutes sanitized): the parity subset below covers those paths.
# AI8XSIM_SANITIZE_ALL_UNIT=1 runs them too.
if [ "${AI8XSIM_SANITIZE_ALL_UNIT:-0}" = 1 ]; then
  (cd "$BUILD" && ctest --output-on-failure) || status=1
else
  "$BUILD/unit_tests" --test-case-exclude='corpus: *' || status=1
  (cd "$BUILD" && ctest --output-on-failure -E '^unit$') || status=1
fi
AI8XSIM_BUILD_DIR="$PWD/$BUILD" AI8XSIM_PARITY_SUBSET=${AI8XSIM_PARITY_SUBSET:-40} \
  /usr/bin/python3 -m pytest -n "$JOBS" -q -p no:cacheprovider \
  tests/errors/test_errors.py tests/parity/test_parity.py tests/parity/test_check.py || status=1

if compgen -G "$LOGS/*" >/dev/null; then
  echo "sanitizer reports:" >&2
  for f in "$LOGS"/*; do echo "== $f" >&2; cat "$f" >&2; done
  status=1
fi
echo "sanitize.sh: $([ $status = 0 ] && echo passed || echo FAILED) in $(( $(date +%s) - start )) s"
exit $status
