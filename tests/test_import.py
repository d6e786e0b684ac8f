"""Importing ctorch is cheap and safe: no NumPy, no torch, works without a GPU driver."""
import subprocess
import sys


def _run(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout


def test_import_loads_neither_numpy_nor_torch():
    # NumPy costs ~0.1 s to import; ctorch loads it only when a NumPy feature is used.
    out = _run("import sys, ctorch; print('numpy' in sys.modules, 'torch' in sys.modules)")
    assert out.split() == ["False", "False"]


def test_version_and_cuda_queries():
    out = _run("import ctorch; print(ctorch.__version__, ctorch.cuda.is_available(), ctorch.cuda.device_count())")
    version, available, count = out.split()
    assert version.count(".") == 2
    assert (available == "True") == (int(count) > 0)


def test_threads_do_not_spin_by_default():
    # After parallel ops (elementwise on the pool, a split GEMM) the idle process burns (almost) no CPU:
    # workers sleep after a ~50 us spin, OpenBLAS after its short timeout.
    out = _run("import os, time, ctorch\n"
               "print(os.environ['OPENBLAS_THREAD_TIMEOUT'])\n"
               "ctorch.set_num_threads(2)\n"
               "x = ctorch.randn(1 << 22); m = ctorch.randn(512, 512)\n"
               "for _ in range(5): (x * 2).sum(); m @ m\n"
               "t0 = time.process_time(); time.sleep(0.5); print(time.process_time() - t0)")
    timeout, idle_cpu = out.split()
    assert timeout == "16"
    assert float(idle_cpu) < 0.05
