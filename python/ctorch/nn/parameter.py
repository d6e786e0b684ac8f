"""nn.Parameter: a Tensor subclass that Modules register as a learnable parameter."""
from ctorch import _C
from ctorch._C import Tensor

__all__ = ["Parameter"]


def _rebuild_parameter(tensor, requires_grad):
    return Parameter(tensor, requires_grad)


class Parameter(Tensor):
    """A leaf Tensor that Modules register as a parameter (requires_grad=True by default).

    ctorch.Tensor is a pybind11 class: a Python subclass instance owns its own C++ tensor handle, so
    an existing tensor cannot be re-classed (``__class__`` assignment fails: different object
    layout) and ``Tensor(t)`` is the legacy constructor, which copies into float32. The clean way
    that shares storage is to build an empty subclass instance and point it at the data through the
    ``.data`` setter, which swaps the handle's storage, shape, strides and dtype in place and leaves
    the result a leaf. So ``Parameter(t)`` shares memory with ``t`` (like PyTorch) and keeps its
    dtype and device. Ops on a Parameter return plain Tensors, as in PyTorch.
    """

    def __init__(self, data=None, requires_grad=True):
        Tensor.__init__(self)  # pybind11 requires the base __init__ to run (an empty float32 tensor)
        if data is None:
            data = _C._empty([0], None, "cpu")
        elif not isinstance(data, Tensor):
            raise TypeError(f"Parameter(): data must be a Tensor, not {type(data).__name__}")
        self.data = data.detach()
        self.requires_grad_(bool(requires_grad))

    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) not in memo:
            new = Parameter(self.data.clone(), self.requires_grad)
            memo[id(self)] = new
            if self.grad is not None:
                new.grad = self.grad.__deepcopy__(memo)
        return memo[id(self)]

    def __reduce_ex__(self, protocol):
        return _rebuild_parameter, (self.detach(), self.requires_grad)
