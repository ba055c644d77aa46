#!/usr/bin/env bash
# Builds the Python package (python/) into a virtual environment and runs its
# pytest suite against scikit-learn and PyTorch (Debian's, through
# --system-site-packages). Usage: scripts/test_python.sh [pytest args]
# VENV=DIR chooses the environment (default: build/python-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

# Debian packages: the C build (as scripts/setup.sh), venv, headers and the
# references the tests compare with.
pkgs=(gcc make cmake pkg-config ocl-icd-opencl-dev opencl-headers
      pocl-opencl-icd python3 python3-venv python3-dev python3-numpy
      python3-sklearn python3-torch python3-dask)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test_python: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

venv=${VENV:-$root/build/python-venv}
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/pip" install -q scikit-build-core pytest
"$venv/bin/pip" install -q --no-build-isolation "$root/python"
# Run from outside the source tree so the installed package is imported.
cd "$venv"
exec "$venv/bin/pytest" -q -p no:cacheprovider "$root/python/tests" "$@"
