"""ctorch.utils: build helpers for native programs (cmake_prefix_path)."""
import os as _os

from ctorch import _C


def _package_root():
    # In editable installs ctorch.__file__ points at the sources; _C always sits in the installed tree.
    return _os.path.dirname(_os.path.abspath(_C.__file__))


cmake_prefix_path = _os.path.join(_package_root(), "share", "cmake")
from ctorch.utils import dlpack  # noqa: E402,F401
from ctorch.utils import data  # noqa: E402,F401
from ctorch.utils import checkpoint  # noqa: E402,F401
from ctorch.utils import safetensors  # noqa: E402,F401
