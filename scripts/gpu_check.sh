#!/usr/bin/env bash
# One call on a GPU machine: build with CUDA, run the CUDA tests and the benchmarks.
#   device run: bash scripts/gpu_check.sh      (writes logs under $OUT when set)
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-/tmp/gpu_check}
mkdir -p "$out"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/gpu.txt"
export CTORCH_CUDA=ON
python3 -m pip install -q --no-build-isolation . 2>&1 | tail -5 | tee "$out/build.log"
python3 -c "import ctorch; print('cuda available:', ctorch.cuda.is_available(), 'devices:', ctorch.cuda.device_count())" | tee -a "$out/build.log"
python3 -m pytest -q tests/test_cuda.py 2>&1 | tee "$out/test_cuda.log" | tail -15
python3 benchmarks/run.py --quick 2>&1 | tee "$out/bench.log"
