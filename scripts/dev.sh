#!/usr/bin/env bash
# In-tree development build: compiles into build/dev and drops _C and libctorch next to the
# Python sources, so `PYTHONPATH=python pytest` tests the working tree. One build at a time.
set -euo pipefail
export CCACHE_BASEDIR=/work
cd "$(dirname "$0")/.."
if [ ! -f build/dev/build.ninja ]; then
  cmake -S . -B build/dev -G Ninja -DCMAKE_BUILD_TYPE=Release -DCTORCH_TESTS=ON \
    -DCTORCH_CUDA="${CTORCH_CUDA:-AUTO}" -DCTORCH_CUDA_ARCHITECTURES="${CTORCH_CUDA_ARCHITECTURES:-90-real}" \
    -DCTORCH_DEV_PACKAGE_DIR="$PWD/python/ctorch" \
    -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)"
fi
exec flock /tmp/ctorch-dev-build.lock cmake --build build/dev "$@"
