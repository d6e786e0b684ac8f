"""A short, real tour of ctorch's tensor library (run: python examples/demo.py)."""
import numpy as np

import ctorch as torch

print("ctorch", torch.__version__, "| threads:", torch.get_num_threads(),
      "| CUDA available:", torch.cuda.is_available())

# Creation and dtypes; Python scalars are weak in type promotion, as in PyTorch.
x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
print("x =", x.tolist(), x.dtype, tuple(x.shape))
print("x + 2.5 keeps", (x + 2.5).dtype, "| int + 2.5 ->", (torch.arange(3) + 2.5).dtype)

# Views share storage: a transpose and a slice write through to x.
xt = x.t()
print("x.t() is contiguous:", xt.is_contiguous(), "| shares storage:", xt._storage_id() == x._storage_id())
row = x.select(0, 1)
row.mul_(10)
print("after x[1] *= 10:", x.tolist())

# Broadcasting elementwise math.
col = torch.tensor([[1.0], [2.0], [3.0]])
y = (x / col).exp().log() + torch.ones(4)
print("broadcast (3,4)/(3,1) + (4,):", tuple(y.shape), "max err vs NumPy:",
      float(np.abs(y.numpy() - (x.numpy() / col.numpy() + 1)).max()))

# NumPy zero-copy both ways.
a = np.ones((2, 3), dtype=np.float64)
t = torch.from_numpy(a)
t.add_(1)
print("numpy sees the in-place add:", a[0, 0] == 2.0, "| back to numpy:", type(t.numpy()).__name__)

# Errors name the op and the shapes.
try:
    torch.zeros(2, 3) + torch.zeros(4)
except RuntimeError as e:
    print("RuntimeError:", e)
