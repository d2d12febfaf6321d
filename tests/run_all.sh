#!/usr/bin/env bash
# Build once and run every test: C++ unit tests (ctest), the parity suite over
# ../shared/parity and the Python tests (pytest, in parallel).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${AI8XSIM_BUILD_DIR:-build}
JOBS=$(nproc)
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DAI8XSIM_PYTHON=ON -DAI8XSIM_TESTS=ON \
  -DPython3_EXECUTABLE=/usr/bin/python3 >/dev/null
cmake --build "$BUILD" -j"$JOBS"
(cd "$BUILD" && ctest --output-on-failure)
AI8XSIM_BUILD_DIR="$PWD/$BUILD" /usr/bin/python3 -m pytest -n "$JOBS" -q tests/
