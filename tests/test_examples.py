"""The examples run: the Python tour, and the native C++ program built against the installed package."""
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

import ctorch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ctorch.utils.cmake_prefix_path, "ctorch", "ctorchConfig.cmake")
installed = pytest.mark.skipif(
    not os.path.exists(CONFIG),
    reason="in-tree dev build: the CMake package exists only in an installed ctorch")


@installed
@pytest.mark.skipif(shutil.which("cmake") is None, reason="cmake not installed")
def test_native_example_builds_and_runs(tmp_path):
    src = os.path.join(ROOT, "examples", "cpp")
    gen = ["-G", "Ninja"] if shutil.which("ninja") else []
    subprocess.run(["cmake", "-S", src, "-B", str(tmp_path), *gen,
                    f"-DCMAKE_PREFIX_PATH={ctorch.utils.cmake_prefix_path}"],
                   check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(tmp_path)], check=True, capture_output=True)
    out = subprocess.run([str(tmp_path / "tensor_demo")], check=True, capture_output=True, text=True)
    assert "native example OK" in out.stdout
    assert "must match the size" in out.stdout


@installed
def test_package_ships_headers_and_libraries():
    root = os.path.dirname(os.path.abspath(ctorch._C.__file__))
    assert os.path.exists(os.path.join(root, "include", "ctorch", "ctorch.h"))
    assert os.path.exists(os.path.join(root, "lib", "libctorch.so"))


def test_python_demo_runs():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "demo.py")],
                         check=True, capture_output=True, text=True).stdout
    err = float(out.split("max err vs NumPy:")[1].split()[0])
    assert err < 1e-4
    assert "NumPy sees the in-place add: True" in out
    assert "fitted w: [3.0, -1.0]" in out
    assert "d/ds s^3 at 2: 12.0 | second derivative: 12.0" in out
    assert "IndexError: index 5 is out of bounds" in out


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="scikit-learn not installed")
def test_train_digits_reaches_97_percent_and_reloads():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "train_digits.py")],
                         check=True, capture_output=True, text=True).stdout
    last_epoch = [line for line in out.splitlines() if line.startswith("epoch")][-1]
    accuracy = float(last_epoch.split("test accuracy")[1].split("%")[0])
    assert accuracy >= 97.0, out
    seconds = float(out.split("training took")[1].split("s")[0])
    print(f"digits: {accuracy}% in {seconds} s")
    assert "fresh process reproduces the test accuracy: yes" in out, out
