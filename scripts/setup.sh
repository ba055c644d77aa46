#!/usr/bin/env bash
# Installs what clmetrics needs (Debian packages only) and builds it.
# Usage: scripts/setup.sh [--tests]   (--tests adds the test dependencies)
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(gcc make cmake pkg-config ocl-icd-opencl-dev opencl-headers
      pocl-opencl-icd clinfo)
with_tests=0
if [ "${1:-}" = "--tests" ]; then
  with_tests=1
  # Criterion for the unit tests; NumPy, scikit-learn and PyTorch for the
  # cross-check against independent references; libxml2-utils (xmllint) and
  # Chromium to parse and render the HTML report; Open MPI for the
  # multi-process tests.
  pkgs+=(libcriterion-dev python3 python3-numpy python3-sklearn python3-torch
         libxml2-utils chromium fonts-dejavu-core openmpi-bin libopenmpi-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

build_tests=OFF
with_mpi=OFF
# The test build has MPI in, so CI runs the mpirun tests (tests/mpi_check.py).
[ $with_tests -eq 1 ] && build_tests=ON && with_mpi=ON
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCLM_BUILD_TESTS=$build_tests \
  -DCLM_MPI=$with_mpi >/dev/null
cmake --build build -j"$(nproc)"
