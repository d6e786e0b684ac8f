"""ctorch.utils.dlpack: DLPack capsules in and out (torch.utils.dlpack's API)."""
from ctorch import _C

__all__ = ["to_dlpack", "from_dlpack", "DLDeviceType"]


class DLDeviceType:
    """DLPack device type codes, as returned in ``Tensor.__dlpack_device__()[0]``."""
    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLCUDAManaged = 13


def to_dlpack(tensor):
    """A legacy 'dltensor' capsule sharing `tensor`'s memory (consumable once)."""
    return tensor.__dlpack__()


def from_dlpack(ext_tensor):
    """A tensor sharing memory with `ext_tensor`: an object with ``__dlpack__`` or a capsule."""
    return _C.from_dlpack(ext_tensor)
