"""ctorch.cuda: whether a CUDA device can be used, and how many there are."""
from ctorch import _C


def is_available():
    """True when ctorch was built with CUDA and a driver reports at least one GPU."""
    return _C._cuda_device_count() > 0


def device_count():
    return _C._cuda_device_count()


def is_built():
    return _C._cuda_built()

from ctorch.cuda.random import *  # noqa: E402,F401,F403
