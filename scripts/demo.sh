#!/usr/bin/env bash
# The main job: set up and build (scripts/setup.sh), then check every example
# with aoscheck and show the dry-run plan of the weekly newsletter.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
BUILD_DIR=${AOS_BUILD_DIR:-build}
echo "== aoscheck --config examples/aos.yaml examples/*.aos"
"$BUILD_DIR/aoscheck" --config examples/aos.yaml examples/*.aos
echo
echo "== aoscheck plan examples/weekly_newsletter.aos --config examples/aos.yaml --input week=2026-W48"
"$BUILD_DIR/aoscheck" plan examples/weekly_newsletter.aos --config examples/aos.yaml --input week=2026-W48
