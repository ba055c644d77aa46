#!/usr/bin/env bash
# Sets up, builds and runs the built-in example on the default device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
./build/clmetrics demo "$@"
