"""ctorch: PyTorch's programming model over a C++ core (import ctorch as torch)."""
import os as _os

# Worker threads must not spin on shared machines (read when OpenBLAS loads): it spins at most 2^16
# cycles (~20 us) instead of 2^28 (~0.1 s) after a GEMM, which measured as fast for back-to-back
# GEMMs and burns no CPU while idle. ctorch's own pool (src/cpu/parallel.cpp) never spins.
_os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "16")

from ctorch import _C
from ctorch._C import *  # noqa: F401,F403  dtypes, Tensor and the ops
from ctorch._C import Tensor, dtype
from ctorch._tensor import *  # noqa: F401,F403
from ctorch._reduce import *  # noqa: F401,F403
from ctorch._index import *  # noqa: F401,F403
from ctorch._linalg import *  # noqa: F401,F403
from ctorch._random import *  # noqa: F401,F403
from ctorch import _tensor_str  # noqa: F401
from ctorch import autograd  # noqa: F401
from ctorch.autograd.grad_mode import (enable_grad, inference_mode, is_grad_enabled,  # noqa: F401
                                       is_inference_mode_enabled, no_grad, set_grad_enabled)
from ctorch import cuda, nn, utils  # noqa: F401
from ctorch import optim  # noqa: F401
from ctorch.serialization import save, load  # noqa: F401,E402

__version__ = "0.1.0"
from ctorch import backends  # noqa: F401,E402  (ctorch.backends.cuda.matmul.allow_tf32, ...)
