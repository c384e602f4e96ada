#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for AOS and builds it: installs the Debian
# packages that are missing (as root, or through sudo), configures CMake in
# ./build and builds with every core. Sourced by scripts/demo.sh and
# scripts/test.sh; safe to run again (a no-op when all is in place).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PACKAGES=(
  build-essential cmake ccache pkg-config python3
  tao-pegtl-dev librocksdb-dev rocksdb-tools libcurl4-openssl-dev libyaml-cpp-dev
  libspdlog-dev catch2 nlohmann-json3-dev libcli11-dev libcpp-httplib-dev libjemalloc-dev libre2-dev
  clang libclang-rt-14-dev python3-aiosmtpd strace
  chromium chromium-driver python3-selenium libhowardhinnant-date-dev tzdata python3-croniter libssl-dev
  libpq-dev postgresql
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

BUILD_DIR=${AOS_BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$BUILD_DIR" -j"$(nproc)"
