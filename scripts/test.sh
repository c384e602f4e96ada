#!/usr/bin/env bash
# The whole test suite: set up and build (scripts/setup.sh), then run every
# test registered with CTest, in parallel.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
BUILD_DIR=${AOS_BUILD_DIR:-build}
ctest --test-dir "$BUILD_DIR" -j"$(nproc)" --output-on-failure --timeout 600
