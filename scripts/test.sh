#!/usr/bin/env bash
# Sets up, builds and runs every test (Criterion executables and the
# scikit-learn/NumPy/PyTorch cross-check) through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
cd build
ctest --output-on-failure "$@"
../scripts/test_python.sh  # the Python package and its pytest suite
