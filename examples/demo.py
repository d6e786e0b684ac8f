"""A short, real tour of ctorch's tensor library (run: python examples/demo.py)."""
import numpy as np

import ctorch as torch

print("ctorch", torch.__version__, "| threads:", torch.get_num_threads(),
      "| CUDA available:", torch.cuda.is_available())

# Creation and dtypes; Python scalars are weak in type promotion, as in PyTorch.
x = torch.arange(12, dtype=torch.float32).reshape(3, 4)
print(x)
print("x + 2.5 keeps", (x + 2.5).dtype, "| int tensor + 2.5 ->", (torch.arange(3) + 2.5).dtype)

# Views share storage: slicing and transposing never copy; writes go through.
xt = x.t()
print("x.t() is contiguous:", xt.is_contiguous(), "| shares storage:", xt._storage_id() == x._storage_id())
x[1] *= 10
x[:, ::3] = -1
print("after x[1] *= 10 and x[:, ::3] = -1:\n", x)

# Advanced indexing, masks, reductions.
print("rows [2, 0]:", x[[2, 0]].tolist())
print("x[x > 5]:", x[x > 5].tolist())
print("sum over rows:", x.sum(dim=1).tolist(), "| max over cols:", x.max(dim=0).values.tolist())
print("softmax of the first row:", torch.softmax(x[0], dim=0))

# Linear algebra over OpenBLAS, with batch broadcasting.
torch.manual_seed(0)
a, b = torch.randn(8, 3, 4), torch.randn(4, 5)
c = a @ b
print("batched matmul", tuple(a.shape), "@", tuple(b.shape), "->", tuple(c.shape),
      "| max err vs NumPy:", float(np.abs(c.numpy() - a.numpy() @ b.numpy()).max()))
print("einsum trace:", torch.einsum("ii->", torch.eye(3)).item())

# Autograd: fit y = 3x - 1 by gradient descent; gradients of gradients with create_graph.
xs = torch.linspace(-1, 1, 50)
ys = 3 * xs - 1
w = torch.zeros(2, requires_grad=True)
for step in range(200):
    loss = ((w[0] * xs + w[1] - ys) ** 2).mean()
    w.grad = None
    loss.backward()
    with torch.no_grad():
        w -= 0.5 * w.grad
print("fitted w:", [round(v, 4) for v in w.tolist()], "| loss:", f"{loss.item():.2e}",
      "| grad_fn:", loss.grad_fn.name())
s = torch.tensor(2.0, requires_grad=True)
(ds,) = torch.autograd.grad(s ** 3, s, create_graph=True)
(d2s,) = torch.autograd.grad(ds, s)
print("d/ds s^3 at 2:", ds.item(), "| second derivative:", d2s.item())

# NumPy zero-copy both ways.
arr = np.ones((2, 3))
t = torch.from_numpy(arr)
t.add_(1)
print("NumPy sees the in-place add:", arr[0, 0] == 2.0)

# Errors name the op and the shapes, with PyTorch's exception classes.
try:
    torch.zeros(2, 3) + torch.zeros(4)
except RuntimeError as e:
    print("RuntimeError:", e)
try:
    torch.zeros(3)[5]
except IndexError as e:
    print("IndexError:", e)
