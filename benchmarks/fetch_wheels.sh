#!/usr/bin/env bash
# Downloads the wheels benchmarks/gpu_check.sh installs on a GPU machine that has
# JAX and PyTorch but no network: keras and its pure-Python import-time
# dependencies, and optree for the target Python (Keras on JAX needs optree or
# dm-tree). Run it on a machine with network access, then copy the repository
# (benchmarks/wheels/ included; git ignores it) to the GPU machine.
#
#     bash benchmarks/fetch_wheels.sh [PYTHON_VERSION]   # default 3.12
set -euo pipefail

cd "$(dirname "$0")"
TARGET_PYTHON=${1:-3.12}
PIP=${PIP:-python3 -m pip}
mkdir -p wheels
$PIP download --quiet --no-deps --dest wheels \
    "keras==3.15.1" absl-py rich markdown-it-py mdurl pygments namex
$PIP download --quiet --no-deps --dest wheels --only-binary=:all: \
    --python-version "$TARGET_PYTHON" --platform manylinux2014_x86_64 optree
ls -1 wheels
