#!/usr/bin/env bash
# One call on a GPU machine: build with CUDA for sm_90, run the C++ tests, the CUDA tests, the
# whole pytest suite, the digits example on the GPU and benchmarks/cuda.py (vs PyTorch CUDA).
# Logs go to $OUT (or /tmp/gpu_check). The GPU image has no package index: first, here,
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#     --platform manylinux_2_28_x86_64 -d .whl scipy-openblas32==0.3.34.481.3
# then: device run, carry [".whl"], command "bash scripts/gpu_check.sh"  (budget: ~8 minutes).
# Every step has a time limit (and each test 60 s, pytest-timeout is on that image): kernels that
# never ran before may hang, and the rest of the report must still come back.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
t0=$SECONDS
stamp() { echo "== $1 ($((SECONDS - t0)) s)"; }
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
if ls .whl/*.whl > /dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site
fi

per_test=$(python3 -c "import pytest_timeout" 2>/dev/null && echo "--timeout=60")

stamp build
{ cmake -S . -B build/gpu -G Ninja -DCMAKE_BUILD_TYPE=Release -DCTORCH_CUDA=ON \
    -DCTORCH_CUDA_ARCHITECTURES=90-real -DCTORCH_TESTS=ON -DCTORCH_DEV_PACKAGE_DIR="$PWD/python/ctorch" \
    -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" && cmake --build build/gpu -j 16; } \
  > "$out/build.log" 2>&1 || { tail -60 "$out/build.log"; exit 1; }
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import ctorch; print('ctorch', ctorch.__version__, 'cuda available:', ctorch.cuda.is_available(),
      ctorch.cuda.get_device_name() if ctorch.cuda.is_available() else '')" | tee -a "$out/build.log"

stamp "C++ tests"
timeout 120 build/gpu/cpp_tests/ctorch_tests --gtest_brief=1 2>&1 | tail -5 | tee "$out/gtest.log"

stamp "CUDA tests"
timeout 200 python3 -m pytest -q -p no:cacheprovider $per_test -n 4 tests/test_cuda*.py 2>&1 | tee "$out/test_cuda.log" | tail -30

stamp "the rest of the suite (CUDA-parametrized cases included)"
timeout 200 python3 -m pytest -q -p no:cacheprovider $per_test -n 8 tests --ignore-glob="tests/test_cuda*.py" 2>&1 | tee "$out/test_all.log" | tail -20

stamp "digits example on the GPU"
timeout 90 python3 examples/train_digits.py --device cuda 2>&1 | tee "$out/digits.log" | tail -4

stamp "benchmarks/cuda.py"
timeout 150 python3 benchmarks/cuda.py 2>&1 | tee "$out/bench.log"
stamp done
