"""The Python autograd API: tensor attributes, backward/grad, hooks, custom Functions, grad modes,
anomaly mode, autograd.functional, checkpointing, and that backward frees what forward saved.
Graphs use elementwise ops only, so these tests do not depend on other ops' formulas."""
import threading
import warnings

import numpy as np
import pytest

import ctorch
from ctorch.autograd import Function
from ctorch.autograd import functional as F
from ctorch.utils.checkpoint import checkpoint, checkpoint_sequential
from conftest import assert_close, to_np


def leaf(values, dtype=ctorch.float64):
    return ctorch.tensor(values, dtype=dtype, requires_grad=True)


def ones_like(t):
    return ctorch.ones_like(t)


# ---- tensor attributes

def test_requires_grad_and_leaves():
    x = ctorch.tensor([1.0, 2.0])
    assert not x.requires_grad and x.is_leaf and x.grad_fn is None
    assert x.requires_grad_() is x and x.requires_grad and x.is_leaf
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    assert y.grad_fn.name() == "MulBackward0"
    x.requires_grad = False
    assert not x.requires_grad and not (x * 2).requires_grad
    with pytest.raises(RuntimeError, match="only change requires_grad flags of leaf variables"):
        y.requires_grad_(False)
    y.requires_grad_(True)  # already true: allowed on non-leaves


def test_requires_grad_integer_tensor():
    with pytest.raises(RuntimeError, match="floating point"):
        ctorch.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        ctorch.tensor([1, 2], requires_grad=True)
    ctorch.tensor([1, 2]).requires_grad_(False)  # turning it off is fine


def test_grad_fn_next_functions():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    c = ctorch.tensor([1.0, 1.0], dtype=ctorch.float64)
    y = (x * w + c).exp()
    assert y.grad_fn.name() == "ExpBackward0"
    (add, nr), = y.grad_fn.next_functions
    assert add.name() == "AddBackward0" and nr == 0
    (mul, _), (none, _) = add.next_functions
    assert mul.name() == "MulBackward0" and none is None
    (acc_x, _), (acc_w, _) = mul.next_functions
    assert acc_x.name() == "AccumulateGrad" and acc_x.variable is x and acc_w.variable is w
    # One accumulator per leaf, shared by every use.
    assert (x * 3).grad_fn.next_functions[0][0] is acc_x
    with pytest.raises(AttributeError):
        y.grad_fn.variable
    assert "ExpBackward0" in repr(y.grad_fn)


def test_grad_attribute():
    x = leaf([1.0, 2.0, 3.0])
    assert x.grad is None
    (x * x).backward(ones_like(x))
    assert_close(x.grad, [2.0, 4.0, 6.0])
    (x * 3).backward(ones_like(x))  # accumulates
    assert_close(x.grad, [5.0, 7.0, 9.0])
    x.grad = None
    assert x.grad is None
    x.grad = ctorch.zeros(3, dtype=ctorch.float64)
    (x * 2).backward(ones_like(x))
    assert_close(x.grad, [2.0, 2.0, 2.0])
    with pytest.raises(RuntimeError, match="size"):
        x.grad = ctorch.zeros(2, dtype=ctorch.float64)
    with pytest.raises(RuntimeError, match="dtype"):
        x.grad = ctorch.zeros(3, dtype=ctorch.float32)
    with pytest.raises(TypeError):
        x.grad = 3
    # .grad on a tensor that does not require grad can be set too (as in PyTorch).
    z = ctorch.zeros(2)
    z.grad = ctorch.ones(2)
    assert_close(z.grad, [1.0, 1.0])


def test_grad_of_non_leaf_warns():
    x = leaf([1.0])
    y = x * 2
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert y.grad is None
    y.retain_grad()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert y.grad is None


def test_retain_grad():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    assert y.retains_grad and not x.retains_grad
    x.retain_grad()  # a no-op on leaves
    assert not x.retains_grad
    z = y * y
    z.backward(ones_like(z))
    assert_close(y.grad, [6.0, 12.0])
    assert_close(x.grad, [18.0, 36.0])
    with pytest.raises(RuntimeError, match="requires_grad=False"):
        ctorch.ones(2).retain_grad()


def test_detach_shares_storage_and_version():
    x = leaf([1.0, 2.0])
    y = x * 2
    d = y.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    d.add_(1)
    assert_close(y.detach(), [3.0, 5.0])
    z = y * y  # saves y
    y.detach().mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.backward(ones_like(z))
    w = x * 2
    assert w.detach_() is w
    assert not w.requires_grad and w.grad_fn is None and w.is_leaf


def test_repr_matches_torch():
    torch = pytest.importorskip("torch")
    x = leaf([1.0, 2.0], ctorch.float32)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == repr(tx).replace("torch", "ctorch")
    assert repr(x * 2) == repr(tx * 2).replace("torch", "ctorch")
    x64, tx64 = leaf(3.0), torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    assert repr(x64 * 2) == repr(tx64 * 2).replace("torch.", "ctorch.")
    assert repr(x64.detach()) == repr(tx64.detach()).replace("torch.", "ctorch.")


def test_numpy_of_tensor_requiring_grad():
    x = leaf([1.0, 2.0])
    for t in (x, x * 2):
        with pytest.raises(RuntimeError, match=r"Can't call numpy\(\) on Tensor that requires grad. "
                                               r"Use tensor.detach\(\).numpy\(\) instead."):
            t.numpy()
        np.testing.assert_array_equal(t.detach().numpy(), t.numpy(force=True))


# ---- backward and grad

def test_backward_gradient_and_non_scalar():
    x = leaf([1.0, 2.0, 3.0])
    y = x * x
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        y.backward()
    y.backward(ctorch.tensor([1.0, 0.5, 2.0], dtype=ctorch.float64))
    assert_close(x.grad, [2.0, 2.0, 12.0])
    s = leaf(2.0)
    (s * s * s).backward()  # one element: the gradient defaults to 1
    assert_close(s.grad, 12.0)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (x * 2).backward(ctorch.ones(2, dtype=ctorch.float64))
    with pytest.raises(RuntimeError, match="does not require grad and does not have a grad_fn"):
        ctorch.ones(2).backward(ctorch.ones(2))


def test_backward_twice_needs_retain_graph():
    x = leaf([1.0, 2.0])
    y = (x * x).exp()
    g = ones_like(y)
    y.backward(g, retain_graph=True)
    first = x.grad.clone()
    y.backward(g)
    assert_close(x.grad, to_np(first) * 2)
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward(g)


def test_backward_inputs_and_autograd_backward():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = x * w
    y.backward(ones_like(y), inputs=[w])
    assert x.grad is None
    assert_close(w.grad, [1.0, 2.0])
    with pytest.raises(RuntimeError, match="cannot be empty"):
        (x * w).backward(ones_like(y), inputs=[])
    # Several roots with their gradients; a non-leaf input gets .grad too.
    a, b = x * 2, w * 3
    ctorch.autograd.backward([a, b], [ones_like(a), ones_like(b) * 2], inputs=[x, a])
    assert_close(x.grad, [2.0, 2.0])
    assert_close(a.grad, [1.0, 1.0])


def test_repeated_and_multiple_roots():
    x = leaf([1.0, 2.0])
    y = x * 3
    g = ones_like(y)
    ctorch.autograd.backward([y, y], [g, g])
    assert_close(x.grad, [6.0, 6.0])
    y = x * 3
    gx, = ctorch.autograd.grad([y, y * y], [x], [g, g])
    assert_close(gx, [3.0 + 18.0, 3.0 + 36.0])


def test_autograd_grad():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    y = x * w
    gx, gw = ctorch.autograd.grad(y, [x, w], ones_like(y), retain_graph=True)
    assert_close(gx, [3.0, 4.0])
    assert_close(gw, [1.0, 2.0])
    assert x.grad is None and w.grad is None  # grad() leaves .grad alone
    gx, = ctorch.autograd.grad([y], x, [ones_like(y)])
    assert_close(gx, [3.0, 4.0])


def test_grad_unused_input():
    x, u = leaf([1.0, 2.0]), leaf([5.0, 6.0])
    y = x * 2
    with pytest.raises(RuntimeError, match="index 1 appears to not have been used in the graph"):
        ctorch.autograd.grad(y, [x, u], ones_like(y), retain_graph=True)
    gx, gu = ctorch.autograd.grad(y, [x, u], ones_like(y), allow_unused=True, retain_graph=True)
    assert gu is None
    gx, gu = ctorch.autograd.grad(y, [x, u], ones_like(y), materialize_grads=True)
    assert_close(gu, [0.0, 0.0])
    with pytest.raises(ValueError, match="allow_unused"):
        ctorch.autograd.grad(x * 2, [x], ones_like(x), allow_unused=False, materialize_grads=True)
    with pytest.raises(RuntimeError, match="does not require grad"):
        ctorch.autograd.grad(x * 2, [ctorch.ones(2)], ones_like(x))


def test_create_graph_gradient_penalty():
    torch = pytest.importorskip("torch")
    vals = [0.3, -1.2, 2.0]
    results = []
    for lib in (ctorch, torch):
        x = lib.tensor(vals, dtype=lib.float64, requires_grad=True)
        w = lib.tensor([1.5, 0.5, -1.0], dtype=lib.float64, requires_grad=True)
        y = (x * w).sin() * x
        g, = lib.autograd.grad(y, x, lib.ones_like(y), create_graph=True)
        assert g.requires_grad
        penalty = g * g
        penalty.backward(lib.ones_like(penalty))
        results.append((x.grad.detach().numpy().copy(), w.grad.detach().numpy().copy()))
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_backward_keeps_grad_history():
    x = leaf([2.0])
    y = x * x * x
    y.backward(ones_like(y), create_graph=True)
    assert x.grad.requires_grad  # 3x^2 with its graph
    g2, = ctorch.autograd.grad(x.grad, x, ones_like(x))
    assert_close(g2, [12.0])


# ---- hooks

def test_hook_replaces_gradient_and_remove():
    x = leaf([1.0, 2.0])
    y = x * 2
    h = y.register_hook(lambda g: g * 10)
    (y * 1).backward(ones_like(y))
    assert_close(x.grad, [20.0, 20.0])
    h.remove()
    x.grad = None
    y = x * 2
    (y * 1).backward(ones_like(y))
    assert_close(x.grad, [2.0, 2.0])


def test_hook_observes_without_replacing():
    x = leaf([1.0, 2.0])
    seen = []
    x.register_hook(lambda g: seen.append(g.clone()))
    (x * 3).backward(ones_like(x))
    assert len(seen) == 1
    assert_close(seen[0], [3.0, 3.0])
    assert_close(x.grad, [3.0, 3.0])


def test_leaf_hook_applies_to_autograd_grad():
    x = leaf([1.0, 2.0])
    handle = x.register_hook(lambda g: g * 2)
    g, = ctorch.autograd.grad(x * 3, x, ones_like(x))
    assert_close(g, [6.0, 6.0])
    with handle:
        pass  # a handle is a context manager that removes the hook on exit
    g, = ctorch.autograd.grad(x * 3, x, ones_like(x))
    assert_close(g, [3.0, 3.0])


def test_hook_order_and_retain_grad():
    x = leaf([1.0])
    y = x * 2
    order = []
    y.register_hook(lambda g: order.append("a") or g + 1)
    y.register_hook(lambda g: order.append("b") or g * 10)
    y.retain_grad()
    (y * 1).backward(ones_like(y))
    assert order == ["a", "b"]
    assert_close(y.grad, [20.0])  # retain_grad sees the hooked gradient
    assert_close(x.grad, [40.0])


def test_post_accumulate_grad_hook():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (x * 2).backward(ones_like(x))
    (x * 2).backward(ones_like(x))
    assert [to_np(s).tolist() for s in seen] == [[2.0, 2.0], [4.0, 4.0]]
    h.remove()
    (x * 2).backward(ones_like(x))
    assert len(seen) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (x * 2).register_post_accumulate_grad_hook(lambda t: None)


def test_hook_must_keep_shape_and_dtype():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.register_hook(lambda g: ctorch.ones(3, dtype=ctorch.float64))
    with pytest.raises(RuntimeError, match="hook '<lambda>' has changed the size of value"):
        y.backward(ones_like(y))

    def to_float(g):
        return g.float()
    x.register_hook(to_float)
    with pytest.raises(RuntimeError, match="hook 'to_float' has changed the type of value"):
        (x * 2).backward(ones_like(x))


def test_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        ctorch.ones(2).register_hook(lambda g: g)
    x = leaf([1.0])

    def bad(g):
        raise ValueError("from the hook")
    x.register_hook(bad)
    with pytest.raises(ValueError, match="from the hook"):
        (x * 2).backward(ones_like(x))


# ---- errors from in-place ops and saved tensors

def test_inplace_on_leaf_requiring_grad():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an "
                                           "in-place operation"):
        x.add_(1)
    with ctorch.no_grad():
        x.add_(1)  # allowed without recording
    assert_close(x.detach(), [2.0, 3.0])


def test_modified_saved_tensor():
    x = leaf([1.0, 2.0])
    y = x * 2
    z = y * y
    y.add_(1)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*is at version 1; "
                                           r"expected version 0 instead"):
        z.backward(ones_like(z))


# ---- custom Functions

class Exp(Function):
    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        y, = ctx.saved_tensors
        return g * y


class ScaledMul(Function):
    """x * y * k with a non-tensor argument k."""

    @staticmethod
    def forward(ctx, x, y, k):
        ctx.save_for_backward(x, y)
        ctx.k = k
        return x * y * k

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        gx = g * y * ctx.k if ctx.needs_input_grad[0] else None
        gy = g * x * ctx.k if ctx.needs_input_grad[1] else None
        return gx, gy, None


def test_function_basic_and_gradcheck():
    x = leaf([0.5, -1.0, 2.0])
    y = Exp.apply(x)
    assert y.grad_fn.name() == "ExpBackward" and not y.is_leaf
    y.backward(ones_like(y))
    assert_close(x.grad, np.exp([0.5, -1.0, 2.0]), rtol=1e-12)
    assert ctorch.autograd.gradcheck(Exp.apply, (leaf([0.1, 0.2]),))
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    assert ctorch.autograd.gradcheck(lambda p, q: ScaledMul.apply(p, q, 2.5), (a, b))
    assert ctorch.autograd.gradgradcheck(lambda p, q: ScaledMul.apply(p, q, 2.5), (a, b))


def test_function_needs_input_grad():
    seen = []

    class Probe(Function):
        @staticmethod
        def forward(ctx, x, y, k):
            seen.append(ctx.needs_input_grad)
            return x * y

        @staticmethod
        def backward(ctx, g):
            seen.append(ctx.needs_input_grad)
            return g, None, None
    x, c = leaf([1.0]), ctorch.tensor([2.0], dtype=ctorch.float64)
    Probe.apply(x, c, 3).backward(ones_like(x))
    assert seen == [(True, False, False)] * 2
    assert_close(x.grad, [1.0])


def test_function_no_grad_inputs_and_no_grad_mode():
    y = Exp.apply(ctorch.tensor([0.0], dtype=ctorch.float64))
    assert not y.requires_grad and y.grad_fn is None
    with ctorch.no_grad():
        y = Exp.apply(leaf([0.0]))
    assert not y.requires_grad


def test_function_forward_runs_without_grad():
    class Check(Function):
        @staticmethod
        def forward(ctx, x):
            assert not ctorch.is_grad_enabled()
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2
    x = leaf([1.0])
    y = Check.apply(x)
    assert y.grad_fn.name() == "CheckBackward"  # one node, not the MulBackward0 inside


def test_function_create_graph():
    x = leaf([0.3, 1.1])
    y = Exp.apply(x * x)
    g, = ctorch.autograd.grad(y, x, ones_like(y), create_graph=True)
    assert_close(g, to_np(x.detach()) * 2 * np.exp(to_np(x.detach()) ** 2), rtol=1e-12)
    g2, = ctorch.autograd.grad(g, x, ones_like(g))
    xv = to_np(x.detach())
    assert_close(g2, (2 + 4 * xv ** 2) * np.exp(xv ** 2), rtol=1e-12)


def test_function_setup_context_and_vjp():
    class Cube(Function):
        @staticmethod
        def forward(x):
            return x * x * x

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def vjp(ctx, g):
            x, = ctx.saved_tensors
            return g * 3 * x * x
    x = leaf([2.0])
    Cube.apply(x).backward(ones_like(x))
    assert_close(x.grad, [12.0])


def test_function_mark_dirty():
    class MulTwo_(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2
    x = leaf([1.0, 3.0])
    a = x * 1
    b = MulTwo_.apply(a)
    assert b is a and a.grad_fn.name() == "MulTwo_Backward"
    assert_close(a.detach(), [2.0, 6.0])
    (b * b).backward(ones_like(b))
    assert_close(x.grad, [8.0, 24.0])  # d/dx (2x)^2
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad has been used in an "
                                           "in-place operation"):
        MulTwo_.apply(leaf([1.0]))


def test_function_returning_input_gets_new_history():
    class Ident(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 5
    x = leaf([1.0])
    y = Ident.apply(x)
    assert y is not x and y.grad_fn.name() == "IdentBackward" and x.is_leaf
    y.backward(ones_like(y))
    assert_close(x.grad, [5.0])


def test_function_non_differentiable_outputs():
    class TwoOut(Function):
        @staticmethod
        def forward(ctx, x):
            mask = x > 0
            big = x * 10
            ctx.mark_non_differentiable(big)
            return x * 2, big, mask

        @staticmethod
        def backward(ctx, g, g_big, g_mask):
            assert g_mask is None or g_mask.dtype == ctorch.bool or True
            # Non-differentiable outputs get zero gradients (materialized).
            assert float(g_big.abs().max()) == 0.0
            return g * 2
    x = leaf([1.0, -1.0])
    y, big, mask = TwoOut.apply(x)
    assert y.requires_grad and not big.requires_grad and not mask.requires_grad
    assert mask.dtype == ctorch.bool
    y.backward(ones_like(y))
    assert_close(x.grad, [2.0, 2.0])


def test_function_materialize_grads_off():
    class Pair(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            assert g1 is None  # the first output was not used
            return g2 * 3
    x = leaf([1.0])
    _, b = Pair.apply(x)
    b.backward(ones_like(b))
    assert_close(x.grad, [3.0])


def test_function_wrong_number_of_gradients():
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g
    with pytest.raises(RuntimeError, match=r"function WrongBackward returned an incorrect number of "
                                           r"gradients \(expected 2, got 1\)"):
        Wrong.apply(leaf([1.0]), 2).backward(ctorch.ones(1, dtype=ctorch.float64))

    class ExtraNones(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None
    x = leaf([1.0])
    ExtraNones.apply(x).backward(ones_like(x))
    assert_close(x.grad, [2.0])

    class GradForNonTensor(Function):
        @staticmethod
        def forward(ctx, x, k):
            return x * k

        @staticmethod
        def backward(ctx, g):
            return g, g
    with pytest.raises(RuntimeError, match="was not a Variable"):
        GradForNonTensor.apply(leaf([1.0]), 2.0).backward(ctorch.ones(1, dtype=ctorch.float64))

    class BadShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return ctorch.ones(3, dtype=ctorch.float64)
    with pytest.raises(RuntimeError, match="returned an invalid gradient at index 0"):
        BadShape.apply(leaf([1.0, 2.0])).backward(ctorch.ones(2, dtype=ctorch.float64))


def test_function_saved_tensor_modified_and_freed():
    x = leaf([1.0, 2.0])
    a = x * 1
    y = ScaledMul.apply(a, a, 1.0)
    a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward(ones_like(y))
    y = Exp.apply(x)
    y.backward(ones_like(y))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.backward(ones_like(y))
    with pytest.raises(TypeError, match="save_for_backward can only save variables"):
        class Bad(Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x, 3)
                return x
        Bad.apply(x)


def test_once_differentiable():
    class Sq(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @ctorch.autograd.function.once_differentiable
        def backward(ctx, g):
            assert not ctorch.is_grad_enabled()
            x, = ctx.saved_tensors
            return g * 2 * x
    x = leaf([3.0])
    g, = ctorch.autograd.grad(Sq.apply(x), x, ones_like(x))
    assert_close(g, [6.0])
    g, = ctorch.autograd.grad(Sq.apply(x), x, ones_like(x), create_graph=True)
    assert_close(g, [6.0])
    assert not g.requires_grad  # as in PyTorch: computed under no_grad
    go = ctorch.ones(1, dtype=ctorch.float64, requires_grad=True)
    g, = ctorch.autograd.grad(Sq.apply(x), x, go, create_graph=True)
    assert g.requires_grad
    with pytest.raises(RuntimeError, match="trying to differentiate twice a function that was marked "
                                           "with @once_differentiable"):
        g.backward(ones_like(g))


# ---- anomaly mode

def test_anomaly_nan_names_backward_node():
    x = ctorch.zeros(1, requires_grad=True)
    y = x / x
    y.backward(ones_like(y))  # NaN gradients, no error without anomaly mode
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        mode = ctorch.autograd.detect_anomaly()
    with mode:
        assert ctorch.autograd.is_anomaly_enabled()
        y = x / x
        with pytest.raises(RuntimeError, match=r"Function 'DivBackward0' returned nan values in its \dth "
                                               r"output(.|\n)*test_autograd.py"):
            y.backward(ones_like(y))
    assert not ctorch.autograd.is_anomaly_enabled()


def test_anomaly_names_custom_function_and_set_detect_anomaly():
    class NaNGrad(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g * float("nan")
    x = leaf([1.0])
    with ctorch.autograd.set_detect_anomaly(True):
        assert ctorch.autograd.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match="Function 'NaNGradBackward' returned nan values"):
            NaNGrad.apply(x).backward(ones_like(x))
        with ctorch.autograd.set_detect_anomaly(True, check_nan=False):
            NaNGrad.apply(x).backward(ones_like(x))  # NaN checks off
    assert not ctorch.autograd.is_anomaly_enabled()


def test_detect_anomaly_decorator():
    with pytest.warns(UserWarning):
        @ctorch.autograd.detect_anomaly()
        def run():
            return ctorch.autograd.is_anomaly_enabled()
    assert run() and not ctorch.autograd.is_anomaly_enabled()


# ---- grad modes

def test_no_grad_enable_grad_nesting():
    x = leaf([1.0])
    assert ctorch.is_grad_enabled()
    with ctorch.no_grad():
        assert not ctorch.is_grad_enabled()
        assert not (x * 2).requires_grad
        with ctorch.enable_grad():
            assert (x * 2).requires_grad
        assert not ctorch.is_grad_enabled()
    assert ctorch.is_grad_enabled()
    with pytest.raises(KeyError):
        with ctorch.no_grad():
            raise KeyError("restored on errors")
    assert ctorch.is_grad_enabled()


def test_grad_mode_decorators():
    @ctorch.no_grad()
    def f1(t):
        return t * 2

    @ctorch.no_grad
    def f2(t):
        return t * 2

    @ctorch.enable_grad()
    def f3(t):
        return t * 2

    @ctorch.set_grad_enabled(False)
    def f4(t):
        return t * 2

    @ctorch.inference_mode()
    def f5(t):
        return ctorch.is_inference_mode_enabled(), t * 2

    x = leaf([1.0])
    assert ctorch.is_grad_enabled()  # the set_grad_enabled decorator only applies inside f4
    assert not f1(x).requires_grad and not f2(x).requires_grad and not f4(x).requires_grad
    assert f1.__name__ == "f1"
    with ctorch.no_grad():
        assert f3(x).requires_grad
    inf, y = f5(x)
    assert inf and not y.requires_grad and not ctorch.is_inference_mode_enabled()


def test_grad_mode_decorates_generators():
    x = leaf([1.0])

    @ctorch.no_grad()
    def gen():
        for _ in range(2):
            yield (x * 2).requires_grad, ctorch.is_grad_enabled()

    it = gen()
    assert next(it) == (False, False)
    assert ctorch.is_grad_enabled()  # only while the generator runs
    assert next(it) == (False, False)
    assert list(it) == []


def test_set_grad_enabled_and_inference_mode():
    x = leaf([1.0])
    ctorch.set_grad_enabled(False)
    try:
        assert not ctorch.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        ctorch.set_grad_enabled(True)
    with ctorch.set_grad_enabled(False):
        assert not ctorch.is_grad_enabled()
    assert ctorch.is_grad_enabled()
    with pytest.raises(TypeError):
        ctorch.set_grad_enabled("yes")
    with ctorch.inference_mode():
        assert ctorch.is_inference_mode_enabled() and not ctorch.is_grad_enabled()
        assert not (x * 2).requires_grad
    with ctorch.inference_mode(False):
        assert not ctorch.is_inference_mode_enabled() and (x * 2).requires_grad
    assert ctorch.autograd.grad_mode.is_grad_enabled is ctorch.is_grad_enabled


def test_grad_mode_is_thread_local():
    results = {}
    started, release = threading.Event(), threading.Event()

    def worker():
        results["initial"] = ctorch.is_grad_enabled()  # a new thread starts with grad on
        with ctorch.no_grad():
            started.set()
            release.wait(5)
            results["inside"] = ctorch.is_grad_enabled()
        x = leaf([1.0])
        results["records"] = (x * 2).requires_grad

    with ctorch.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        started.wait(5)
        # The worker's no_grad does not leak here and ours does not leak there.
        assert not ctorch.is_grad_enabled()
    assert ctorch.is_grad_enabled()
    release.set()
    t.join()
    assert results == {"initial": True, "inside": False, "records": True}


def test_backward_in_threads():
    errors = []

    def worker(k):
        try:
            x = leaf([float(k)])
            for _ in range(20):
                x.grad = None
                (x * x * x).backward(ones_like(x))
                assert float(x.grad[0]) == 3.0 * k * k
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(1, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


# ---- gradcheck

def test_gradcheck_catches_wrong_gradient():
    class WrongExp(Function):
        @staticmethod
        def forward(ctx, x):
            return x.exp()

        @staticmethod
        def backward(ctx, g):
            return g * 1.01
    x = leaf([0.0, 0.5])
    assert not ctorch.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ctorch.autograd.gradcheck(WrongExp.apply, (x,))
    # gradcheck leaves its inputs and graphs built on them intact.
    y = x * x
    assert ctorch.autograd.gradcheck(lambda t: (t * t).sin(), (x,))
    y.backward(ones_like(y))
    assert_close(x.grad, [0.0, 1.0])
    with pytest.raises(ValueError, match="at least one input tensor to require gradient"):
        ctorch.autograd.gradcheck(lambda t: t * 2, (ctorch.ones(2, dtype=ctorch.float64),))


# ---- autograd.functional against torch

def _cmp(a, b):
    if isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b)
        for p, q in zip(a, b):
            _cmp(p, q)
    else:
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(to_np(a), b.detach().numpy(), rtol=1e-10, atol=1e-12)


def _both(name, make_args, **kwargs):
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF
    ours = getattr(F, name)(*make_args(ctorch), **kwargs)
    theirs = getattr(TF, name)(*make_args(torch), **kwargs)
    _cmp(ours, theirs)
    return ours


def _t(lib, v):
    return lib.tensor(v, dtype=lib.float64)


def _two_in_two_out(lib):
    return lambda x, y: (x * y.exp() + x * x, (x / (y + 3)).sin())


def _scalar_fn(lib):
    return lambda a, b: a * a * b.exp() + b.sin() * a


X, Y = [1.0, 2.0, -0.5], [0.5, -1.0, 2.0]


def test_functional_jacobian():
    _both("jacobian", lambda lib: (_two_in_two_out(lib), (_t(lib, X), _t(lib, Y))))
    _both("jacobian", lambda lib: (lambda x: (x * x).exp(), _t(lib, X)))
    _both("jacobian", lambda lib: (lambda x: x * 3, _t(lib, 2.0)))
    # An output independent of an input gets zeros (an error in strict mode).
    _both("jacobian", lambda lib: (lambda x, y: x * 2, (_t(lib, X), _t(lib, Y))))
    with pytest.raises(RuntimeError, match="independent of input 1"):
        F.jacobian(lambda x, y: x * 2, (_t(ctorch, X), _t(ctorch, Y)), strict=True)
    with pytest.raises(NotImplementedError):
        F.jacobian(lambda x: x, _t(ctorch, X), vectorize=True)


def test_functional_vjp_jvp():
    v = [1.0, 0.5, 2.0], [0.0, 1.0, -1.0]
    _both("vjp", lambda lib: (_two_in_two_out(lib), (_t(lib, X), _t(lib, Y)), (_t(lib, v[0]), _t(lib, v[1]))))
    _both("jvp", lambda lib: (_two_in_two_out(lib), (_t(lib, X), _t(lib, Y)), (_t(lib, v[0]), _t(lib, v[1]))))
    _both("vjp", lambda lib: (lambda x: x.exp(), _t(lib, 0.5)))
    _both("jvp", lambda lib: (lambda x: x.exp() * x, _t(lib, X), _t(lib, v[0])))


def test_functional_hessian_hvp_vhp():
    args = lambda lib: (_scalar_fn(lib), (_t(lib, 1.5), _t(lib, 0.3)))  # noqa: E731
    _both("hessian", args)
    _both("hessian", lambda lib: (lambda x: x * x * x.sin(), _t(lib, 0.7)))
    vec = lambda lib: (_t(lib, 1.0), _t(lib, -2.0))  # noqa: E731
    _both("hvp", lambda lib: args(lib) + (vec(lib),))
    _both("vhp", lambda lib: args(lib) + (vec(lib),))
    with pytest.raises(RuntimeError, match="should contain a single element"):
        F.hessian(lambda x: x * 2, _t(ctorch, X))
    with pytest.raises(RuntimeError, match="should return a single Tensor"):
        F.hvp(lambda x: (x, x), _t(ctorch, 1.0), _t(ctorch, 1.0))


def test_functional_errors():
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        F.vjp(lambda x: x, [1.0])
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.vjp(lambda x: x * 2, _t(ctorch, X))
    with pytest.raises(RuntimeError, match="v has invalid size"):
        F.vjp(lambda x: x * 2, _t(ctorch, X), _t(ctorch, [1.0]))
    with pytest.raises(RuntimeError, match="v is a tuple of invalid length"):
        F.jvp(lambda x: x * 2, (_t(ctorch, X),), (_t(ctorch, X), _t(ctorch, X)))
    with pytest.raises(RuntimeError, match="does not require gradients"):
        F.jacobian(lambda x: ctorch.ones(2, dtype=ctorch.float64), _t(ctorch, X), strict=True)


def test_functional_create_graph():
    torch = pytest.importorskip("torch")
    import torch.autograd.functional as TF
    out = []
    for lib, M in ((ctorch, F), (torch, TF)):
        x = lib.tensor(0.7, dtype=lib.float64, requires_grad=True)
        j = M.jacobian(lambda t: t * t * t, x, create_graph=True)
        assert j.requires_grad
        j.backward()
        v = lib.tensor([0.7, 1.0], dtype=lib.float64, requires_grad=True)
        _, jv = M.jvp(lambda t: t * t * t, v, lib.tensor([1.0, 2.0], dtype=lib.float64), create_graph=True)
        jv.backward(lib.ones_like(jv))
        h = M.hessian(lambda t: t * t * t, x.detach().requires_grad_(), create_graph=True)
        out.append((x.grad.item(), v.grad.detach().numpy().copy(), h.item(), h.requires_grad))
        # Without create_graph the results are detached.
        assert not M.jacobian(lambda t: t * t, x).requires_grad
    assert out[0][0] == pytest.approx(out[1][0]) and out[0][2:] == pytest.approx(out[1][2:])
    np.testing.assert_allclose(out[0][1], out[1][1])


# ---- checkpoint

def _model(w1, w2, b):
    return lambda t, scale=1.0: ((t * w1 + b).tanh() * w2).exp() * scale


def _params():
    gen = ctorch.Generator().manual_seed(3)
    return [ctorch.randn(6, generator=gen, dtype=ctorch.float64).requires_grad_() for _ in range(4)]


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_same_gradients(reentrant):
    w1, w2, b, x = _params()
    f = _model(w1, w2, b)
    g = ctorch.linspace(-1, 1, 6, dtype=ctorch.float64)
    grads = []
    for use_ck in (False, True):
        for t in (w1, w2, b, x):
            t.grad = None
        y = checkpoint(f, x, use_reentrant=reentrant, scale=2.0) if use_ck else f(x, scale=2.0)
        y.backward(g)
        grads.append([to_np(t.grad) for t in (w1, w2, b, x)])
    name = "_CheckpointFunctionBackward" if reentrant else "_NonReentrantCheckpointBackward"
    assert y.grad_fn.name() == name
    for a, c in zip(*grads):
        np.testing.assert_allclose(a, c, rtol=1e-12)


def test_checkpoint_non_reentrant_reaches_parameters():
    w1, w2, b, x = _params()
    x.requires_grad_(False)  # data: only the parameters the function closes over need gradients
    f = _model(w1, w2, b)
    g = ctorch.linspace(-1, 1, 6, dtype=ctorch.float64)
    expected = ctorch.autograd.grad(f(x), [w1, w2, b], g)
    y = checkpoint(f, x, use_reentrant=False)
    inputs = [fn.variable for fn, _ in y.grad_fn.next_functions[1:]]
    assert len(inputs) == 3 and {id(t) for t in inputs} == {id(w1), id(w2), id(b)}
    # autograd.grad works through it (the reentrant variant only supports backward()).
    got = ctorch.autograd.grad(y, [w1, w2, b], g, retain_graph=True)
    for a, e in zip(got, expected):
        np.testing.assert_allclose(to_np(a), to_np(e), rtol=1e-12)
    # A hook on a parameter runs once per backward.
    calls = []
    w1.register_hook(lambda gr: calls.append(1))
    y.backward(g)
    assert len(calls) == 1
    np.testing.assert_allclose(to_np(w1.grad), to_np(expected[0]), rtol=1e-12)
    # The reentrant variant needs an argument that requires grad.
    with pytest.warns(UserWarning, match="None of the inputs have requires_grad=True"):
        y = checkpoint(f, x, use_reentrant=True)
    assert not y.requires_grad


def test_checkpoint_non_reentrant_double_backward_and_tuples():
    x, w = leaf([0.5, -0.3]), leaf([1.5, 2.0])

    def f(t):
        return (t * w).sin(), t * t

    a, c = checkpoint(f, x, use_reentrant=False)
    g, = ctorch.autograd.grad([a, c], x, [ones_like(a), ones_like(c)], create_graph=True)
    xv, wv = to_np(x.detach()), to_np(w.detach())
    assert_close(g, wv * np.cos(xv * wv) + 2 * xv, rtol=1e-12)
    g2, = ctorch.autograd.grad(g, x, ones_like(g))
    assert_close(g2, -wv * wv * np.sin(xv * wv) + 2, rtol=1e-12)


def test_checkpoint_non_reentrant_outside_history_falls_back():
    x, w = leaf([0.5, -0.3]), leaf([1.5, 2.0])
    h = w * 3  # a non-leaf the function closes over
    with pytest.warns(UserWarning, match="without checkpointing"):
        y = checkpoint(lambda t: t * h, x, use_reentrant=False)
    y.backward(ones_like(y))
    assert_close(w.grad, to_np(x.detach()) * 3, rtol=1e-12)
    assert_close(x.grad, to_np(h.detach()), rtol=1e-12)


def test_checkpoint_preserves_rng_state_and_warns():
    x = leaf([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    masks = []

    def dropout_like(t):
        m = (ctorch.rand(t.shape, dtype=t.dtype) > 0.5).to(t.dtype)
        masks.append(m)
        return t * m * 2
    ctorch.manual_seed(0)
    with pytest.warns(UserWarning, match="use_reentrant"):
        y = checkpoint(dropout_like, x)
    after_forward = ctorch.rand(1).item()
    y.backward(ones_like(y))
    assert len(masks) == 2 and bool((masks[0] == masks[1]).all())  # recomputed with the same draws
    assert_close(x.grad, to_np(masks[0]) * 2)
    # The recompute leaves the global RNG where it was.
    ctorch.manual_seed(0)
    ctorch.rand(8, dtype=ctorch.float64)
    assert ctorch.rand(1).item() == after_forward


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_sequential_same_gradients(reentrant):
    w1, w2, b, x = _params()
    fs = [lambda t: t * w1, lambda t: t.sin(), lambda t: t + b, lambda t: t * w2, lambda t: t.exp()]
    g = ctorch.linspace(-1, 1, 6, dtype=ctorch.float64)
    grads = []
    for use_ck in (False, True):
        for t in (w1, w2, b, x):
            t.grad = None
        if use_ck:
            y = checkpoint_sequential(fs, 2, x, use_reentrant=reentrant)
        else:
            y = x
            for f in fs:
                y = f(y)
        y.backward(g)
        grads.append([to_np(t.grad) for t in (w1, w2, b, x)])
    for a, c in zip(*grads):
        np.testing.assert_allclose(a, c, rtol=1e-12)


@pytest.mark.parametrize("reentrant", [False, True])
def test_checkpoint_frees_activations(reentrant):
    n = 1 << 18  # 2 MiB of float64 per tensor
    stats = ctorch._C._allocator_stats
    x = ctorch.ones(n, dtype=ctorch.float64, requires_grad=True)
    w = ctorch.full((n,), 0.5, dtype=ctorch.float64, requires_grad=True)

    def block(t):
        for _ in range(4):
            t = (t * w).sin()
        return t
    base = stats()["allocated_bytes"]
    y = block(x)
    plain = stats()["allocated_bytes"] - base
    del y
    base = stats()["allocated_bytes"]
    y = checkpoint(block, x, use_reentrant=reentrant)
    ck = stats()["allocated_bytes"] - base
    # Plainly the 4 sin inputs and 4 products are kept; checkpointed only the output.
    assert plain >= 8 * n * 8 and ck <= 2 * n * 8
    y.backward(ones_like(y))
    assert w.grad is not None and x.grad is not None
    x.grad = w.grad = None
    del y
    assert stats()["allocated_bytes"] == base  # nothing kept alive by the checkpoint node


# ---- memory: backward frees what forward saved

def test_backward_releases_saved_tensors():
    n = 1 << 18
    stats = ctorch._C._allocator_stats
    x = ctorch.ones(n, dtype=ctorch.float64, requires_grad=True)
    g = ctorch.ones(n, dtype=ctorch.float64)
    before = stats()["allocated_bytes"]
    y = (x * 2).exp()  # ExpBackward0 saves its output y; the next mul saves y and y.sin()
    z = y * y.sin()
    del y
    held = stats()["allocated_bytes"] - before
    assert held >= 3 * n * 8
    z.backward(g, retain_graph=True)  # retain_graph: still held
    grad_bytes = n * 8
    assert stats()["allocated_bytes"] - before >= held + grad_bytes
    z.backward(g)
    # Only z and x.grad remain.
    assert stats()["allocated_bytes"] - before <= 2 * n * 8
    del z
    assert stats()["allocated_bytes"] - before <= n * 8


def test_graph_is_freed_with_its_output():
    n = 1 << 18
    stats = ctorch._C._allocator_stats
    x = ctorch.ones(n, dtype=ctorch.float64, requires_grad=True)
    before = stats()["allocated_bytes"]
    for _ in range(3):
        z = (x * 3).exp() * x
        del z
    assert stats()["allocated_bytes"] == before  # no reference cycles keep the graph alive


def test_deep_graph_backward_and_free_without_recursion():
    """A 200k-node chain: the engine and graph destruction are iterative (no C stack overflow)."""
    x = ctorch.ones(1, requires_grad=True)
    for keep in (False, True):
        y = x
        for _ in range(100000):
            y = (y * 1.0).sin()
        if keep:
            y.backward()
            assert x.grad is not None
        del y


# ---- regressions found in review

@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_create_graph_grad_does_not_alias_the_gradient():
    x = ctorch.ones(3, requires_grad=True)
    g = ctorch.ones(3)
    (x * 1.0).backward(g, create_graph=True)
    x.sum().backward()  # accumulates into .grad in place: must not write into g or an expand
    assert x.grad.tolist() == [2.0, 2.0, 2.0] and g.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("make", [lambda lib, A, v: A.mv(v), lambda lib, A, v: lib.addmv(v[:2], A, v),
                                  lambda lib, A, v: A @ v, lambda lib, A, v: lib.dot(v, v).reshape(1) * A.sum()])
def test_outputs_of_primitives_are_not_views_of_temporaries(make):
    torch = pytest.importorskip("torch")
    a0 = [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    v0 = [0.5, -1.0, 2.0]

    def run(lib):
        A = lib.tensor(a0, requires_grad=True)
        v = lib.tensor(v0, requires_grad=True)
        y = make(lib, A, v)
        y[0] = 5.0  # overwrite one element: the others must keep their gradients
        (y * y).sum().backward()
        return A.grad.tolist(), v.grad.tolist()

    assert run(ctorch) == run(torch)


def test_clamp_with_min_above_max():
    torch = pytest.importorskip("torch")

    def run(lib):
        x = lib.tensor([-1.0, 0.5, 2.0], requires_grad=True)
        lo = lib.tensor([1.0, 1.0, 0.0], requires_grad=True)
        hi = lib.tensor([0.0, 0.0, 1.0], requires_grad=True)
        lib.clamp(x, lo, hi).sum().backward()
        return x.grad.tolist(), lo.grad.tolist(), hi.grad.tolist()

    assert run(ctorch) == run(torch)


@pytest.mark.parametrize("fill", [lambda y: y.fill_(1.0), lambda y: y.zero_(), lambda y: y.uniform_(),
                                  lambda y: y[1:].fill_(2.0), lambda y: y.normal_()])
def test_fill_and_random_inplace_give_zero_gradient(fill):
    x = ctorch.ones(3, requires_grad=True)
    y = x * 2
    fill(y)
    assert y.requires_grad
    (y * 3).sum().backward()
    assert x.grad.tolist()[0] == (6.0 if y.grad_fn.name() == "CopySlices" else 0.0)
    assert x.grad.tolist()[1:] == [0.0, 0.0]
    with pytest.raises(RuntimeError, match="leaf Variable"):
        x.fill_(0)


def test_none_in_backward_and_grad_raise():
    x = ctorch.ones(2, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(TypeError):
        ctorch.autograd.grad(y, [x, None])
    with pytest.raises(TypeError):
        ctorch.autograd.backward([y, None])


def test_inplace_on_gapped_view_base_fails_before_writing():
    np = pytest.importorskip("numpy")
    base = ctorch.from_numpy(np.zeros((4, 4))[:, ::2])  # gapped memory, and not itself a view
    w = ctorch.ones(2, dtype=ctorch.float64, requires_grad=True)
    v = base[0]
    with pytest.raises(NotImplementedError):
        v.mul_(w)
    assert base.tolist() == [[0.0, 0.0]] * 4


def test_views_made_under_no_grad_cannot_join_the_graph():
    torch = pytest.importorskip("torch")
    for lib in (ctorch, torch):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        with lib.no_grad():
            v = y[:2]
        assert v.grad_fn is None
        with pytest.raises(RuntimeError, match="created in no_grad mode"):
            v.mul_(x[:2])
        y.mul_(2)  # rewrites y's history: the view's state is now ambiguous
        with pytest.raises(RuntimeError, match="created in no_grad mode"):
            v.grad_fn


def test_retain_grad_follows_inplace():
    torch = pytest.importorskip("torch")

    def run(lib):
        x = lib.ones(3, requires_grad=True)
        y = x * 2
        y.retain_grad()
        y.mul_(3)
        (y * y).sum().backward()
        return y.grad.tolist()

    assert run(ctorch) == run(torch)


def test_backward_with_create_graph_warns_about_the_cycle():
    x = ctorch.ones(2, requires_grad=True)
    with pytest.warns(UserWarning, match="reference cycle"):
        (x * x).sum().backward(create_graph=True)
    x.grad = None


def test_deepcopy_keeps_each_leafs_grad():
    import copy
    ps = [ctorch.ones(3, 4, requires_grad=True), ctorch.ones(5, requires_grad=True)]
    for i, p in enumerate(ps):
        (p * (i + 2)).sum().backward()
    copies = copy.deepcopy(ps)
    for p, c in zip(ps, copies):
        assert c.is_leaf and c.requires_grad and c is not p
        assert c.grad.tolist() == p.grad.tolist()
