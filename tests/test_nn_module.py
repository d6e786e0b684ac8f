"""Tests for nn.Parameter, nn.Module, the containers, Linear/Bilinear/Flatten and the activations,
compared with PyTorch (same structure, weights copied through NumPy) where it is installed."""
import copy
import math
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import ctorch
import ctorch.nn as nn
import ctorch.nn.functional as F
from conftest import DEVICES, compare_module_on_device


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def np_of(t):
    return t.detach().numpy().copy() if hasattr(t, "detach") else np.asarray(t)


def copy_weights(src_torch_model, dst_model):
    """Copy a torch model's state into a ctorch model through NumPy (same key order)."""
    sd = OrderedDict((k, ctorch.from_numpy(v.detach().numpy().copy()))
                     for k, v in src_torch_model.state_dict().items())
    return dst_model.load_state_dict(sd)


# ---------------------------------------------------------------- Parameter

def test_parameter_basics():
    x = ctorch.arange(6, dtype=ctorch.float64).reshape(2, 3) / 4  # fixed values: a fixed repr layout
    p = nn.Parameter(x)
    assert isinstance(p, nn.Parameter) and isinstance(p, ctorch.Tensor)
    assert p.is_leaf and p.requires_grad and p.dtype == ctorch.float64
    assert p.data_ptr() == x.data_ptr()  # shares storage, like PyTorch
    assert not nn.Parameter(x, requires_grad=False).requires_grad
    assert tuple(nn.Parameter().shape) == (0,)
    assert repr(p).startswith("Parameter containing:\ntensor([[")
    assert repr(p).endswith("dtype=ctorch.float64, requires_grad=True)")
    assert type(p * 2) is ctorch.Tensor
    (p * 3).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((2, 3), 3.0))
    with pytest.raises(TypeError):
        nn.Parameter([1.0, 2.0])


def test_parameter_copy_pickle():
    p = nn.Parameter(ctorch.randn(3))
    p.grad = ctorch.ones(3)
    q = copy.deepcopy(p)
    assert type(q) is nn.Parameter and q.requires_grad and q.data_ptr() != p.data_ptr()
    np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
    np.testing.assert_array_equal(q.grad.numpy(), np.ones(3))
    r = pickle.loads(pickle.dumps(nn.Parameter(ctorch.randn(2), requires_grad=False)))
    assert type(r) is nn.Parameter and not r.requires_grad


# ---------------------------------------------------------------- registration

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 5)
        self.act = nn.Tanh()
        self.fc2 = nn.Linear(5, 3)
        self.scale = nn.Parameter(ctorch.ones(3))
        self.register_buffer("running", ctorch.zeros(3))
        self.register_buffer("tmp", ctorch.zeros(2), persistent=False)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale + self.running


def test_registration_and_iteration():
    m = Net()
    assert [n for n, _ in m.named_parameters()] == ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert [n for n, _ in m.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in m.named_parameters(prefix="net")][0] == "net.scale"
    assert [n for n, _ in m.named_buffers()] == ["running", "tmp"]
    assert len(list(m.buffers())) == 2 and len(list(m.parameters())) == 5
    assert [n for n, _ in m.named_children()] == ["fc1", "act", "fc2"]
    assert list(m.children())[0] is m.fc1
    assert [n for n, _ in m.named_modules()] == ["", "fc1", "act", "fc2"]
    assert len(list(m.modules())) == 4
    assert list(m.state_dict()) == ["scale", "running", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    assert isinstance(m.state_dict(), OrderedDict)
    assert list(m.state_dict(prefix="p."))[0] == "p.scale"
    assert not m.state_dict()["scale"].requires_grad
    assert m.state_dict(keep_vars=True)["scale"] is m.scale
    assert m.get_submodule("fc1") is m.fc1 and m.get_submodule("") is m
    assert m.get_parameter("fc2.bias") is m.fc2.bias
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        m.get_submodule("nope")
    with pytest.raises(AttributeError, match="is not an nn.Parameter"):
        m.get_parameter("running")
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'missing'"):
        m.missing
    d = dir(m)
    assert "fc1" in d and "scale" in d and "running" in d and "forward" in d


def test_setattr_delattr_rules():
    m = Net()
    with pytest.raises(TypeError, match="as parameter 'scale'"):
        m.scale = ctorch.ones(3)
    with pytest.raises(TypeError, match="as child module 'fc1'"):
        m.fc1 = 3
    with pytest.raises(TypeError, match="as buffer 'running'"):
        m.running = 3
    m.running = ctorch.ones(3)
    assert m._buffers["running"] is m.running
    m.scale = None
    assert "scale" not in dict(m.named_parameters())
    del m.fc2
    assert "fc2" not in dict(m.named_children())
    m.fc2 = nn.Linear(5, 3)  # re-registered after deletion
    m.extra = 5
    assert m.extra == 5 and "extra" not in m.state_dict()
    del m.extra
    m.plain = 1
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_parameter("plain", None)
    with pytest.raises(KeyError, match="attribute 'plain' already exists"):
        m.register_buffer("plain", None)
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="nn.Parameter or None required"):
        m.register_parameter("w", ctorch.ones(1))
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)

    class Early(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(ctorch.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Early()


def test_shared_parameters_dedup():
    lin = nn.Linear(3, 3)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    assert len(list(m.parameters())) == 2
    assert len(list(m.named_parameters(remove_duplicate=False))) == 4
    assert [n for n, _ in m.named_modules()] == ["", "0", "1"]
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_train_eval_requires_grad_zero_grad_apply():
    m = Net()
    assert m.training and m.fc1.training
    assert m.eval() is m and not m.training and not m.fc1.training
    m.train()
    assert m.fc2.training
    with pytest.raises(ValueError):
        m.train("yes")
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    m.requires_grad_()
    m(ctorch.randn(2, 4)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(float(p.grad.abs().sum()) == 0 for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    seen = []
    assert m.apply(lambda mod: seen.append(type(mod).__name__)) is m
    assert seen == ["Linear", "Tanh", "Linear", "Net"]


def test_to_keeps_parameter_identity():
    m = Net()
    m(ctorch.randn(2, 4)).sum().backward()
    params = list(m.parameters())
    grads = [p.grad for p in params]
    assert m.to(ctorch.float64) is m
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(type(p) is nn.Parameter and p.dtype == ctorch.float64 and p.is_leaf and p.requires_grad
               for p in m.parameters())
    assert all(p.grad is g and g.dtype == ctorch.float64 for p, g in zip(params, grads))
    assert m.running.dtype == ctorch.float64
    m.float()
    assert m.fc1.weight.dtype == ctorch.float32
    m.half()
    assert m.fc1.weight.dtype == ctorch.float16
    m.bfloat16()
    assert m.fc1.weight.dtype == ctorch.bfloat16
    m.double()
    assert m.fc1.weight.dtype == ctorch.float64
    m.to("cpu", dtype=ctorch.float32)
    assert m.fc1.weight.dtype == ctorch.float32 and m.cpu().fc1.weight.device == ctorch.device("cpu")
    m.register_buffer("steps", ctorch.zeros(1, dtype=ctorch.int64))
    m.to(ctorch.float64)
    assert m.steps.dtype == ctorch.int64  # only floating point tensors change dtype
    with pytest.raises(TypeError, match="floating point"):
        m.to(ctorch.int32)
    out = m(ctorch.randn(2, 4, dtype=ctorch.float64))
    out.sum().backward()
    assert m.fc1.weight.grad.dtype == ctorch.float64


def test_to_tensor_device_and_cuda():
    m = nn.Linear(2, 2)
    w = m.weight
    m.to(ctorch.ones(1, dtype=ctorch.float16))
    assert m.weight is w and w.dtype == ctorch.float16
    m.to(ctorch.device("cpu"), ctorch.float64)
    assert w.dtype == ctorch.float64 and w.device == ctorch.device("cpu")
    if ctorch.cuda.is_available():
        m.cuda()
        assert m.weight is w and w.is_cuda and m.bias.is_cuda and w.is_leaf
        assert m.to("cpu").weight is w and not w.is_cuda
    else:
        with pytest.raises((RuntimeError, AssertionError), match="CUDA"):  # no GPU / no CUDA build
            m.cuda()


# ---------------------------------------------------------------- state dicts

def test_load_state_dict_roundtrip_and_errors():
    a, b = Net(), Net()
    r = b.load_state_dict(a.state_dict())
    assert r.missing_keys == [] and r.unexpected_keys == [] and repr(r) == "<All keys matched successfully>"
    for k, v in a.state_dict().items():
        np.testing.assert_array_equal(b.state_dict()[k].numpy(), v.numpy())
    assert b.fc1.weight.requires_grad and type(b.fc1.weight) is nn.Parameter

    sd = a.state_dict()
    del sd["fc1.bias"]
    sd["fc3.weight"] = ctorch.zeros(1)
    with pytest.raises(RuntimeError) as e:
        b.load_state_dict(sd)
    assert str(e.value) == ('Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: '
                            '"fc1.bias". \n\tUnexpected key(s) in state_dict: "fc3.weight". ')
    r = b.load_state_dict(sd, strict=False)
    # unexpected keys are reported even when not strict, as in PyTorch
    assert r.missing_keys == ["fc1.bias"] and r.unexpected_keys == ["fc3.weight"]

    sd = a.state_dict()
    sd["fc1.weight"] = ctorch.zeros(4, 4)
    with pytest.raises(RuntimeError) as e:
        b.load_state_dict(sd, strict=False)
    assert str(e.value) == ("Error(s) in loading state_dict for Net:\n\tsize mismatch for fc1.weight: copying "
                            "a param with shape ctorch.Size([4, 4]) from checkpoint, the shape in current "
                            "model is ctorch.Size([5, 4]).")
    with pytest.raises(TypeError, match="dict-like"):
        b.load_state_dict([1, 2])


def test_load_state_dict_messages_match_torch(torch):
    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = torch.nn.Linear(4, 5)
            self.fc2 = torch.nn.Linear(5, 3)
    t = TNet()
    c = nn.Module()
    c.fc1, c.fc2 = nn.Linear(4, 5), nn.Linear(5, 3)
    sd_t = t.state_dict()
    sd_c = c.state_dict()
    for sd in (sd_t, sd_c):
        del sd["fc2.bias"]
        sd["zzz"] = sd["fc1.bias"]
    with pytest.raises(RuntimeError) as et:
        t.load_state_dict(sd_t)
    with pytest.raises(RuntimeError) as ec:
        c.load_state_dict(sd_c)
    assert str(ec.value).replace("Module", "TNet") == str(et.value)
    rt, rc = t.load_state_dict(sd_t, strict=False), c.load_state_dict(sd_c, strict=False)
    assert (rt.missing_keys, rt.unexpected_keys) == (rc.missing_keys, rc.unexpected_keys)


def test_state_dict_nonpersistent_and_none():
    m = Net()
    m.fc2.bias = None
    assert "tmp" not in m.state_dict() and "fc2.bias" not in m.state_dict()
    m.load_state_dict(Net().state_dict(), strict=False)


# ---------------------------------------------------------------- hooks

def test_forward_hooks():
    m = nn.Linear(3, 2)
    calls = []

    def pre(mod, args):
        calls.append(("pre", mod))
        return (args[0] * 0,)

    def post(mod, args, out):
        calls.append(("post", args[0]))
        return out + 1

    h1 = m.register_forward_pre_hook(pre)
    h2 = m.register_forward_hook(post)
    out = m(ctorch.randn(4, 3))
    np.testing.assert_allclose(out.detach().numpy(), np.tile(m.bias.detach().numpy() + 1, (4, 1)), rtol=1e-6)
    assert calls[0] == ("pre", m) and float(calls[1][1].abs().sum()) == 0
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    x = ctorch.randn(4, 3)
    np.testing.assert_allclose(m(x).detach().numpy(), F.linear(x, m.weight, m.bias).detach().numpy())

    # a non-tuple return from a pre-hook is wrapped; prepend puts a hook first; handles are context managers
    order = []
    m.register_forward_pre_hook(lambda mod, a: order.append(1))
    m.register_forward_pre_hook(lambda mod, a: order.append(0), prepend=True)
    with m.register_forward_pre_hook(lambda mod, a: a[0] * 0):
        assert float(m(x).sub(m.bias).abs().sum()) == 0
    assert order == [0, 1]
    assert float((m(x) - F.linear(x, m.weight, m.bias)).abs().sum()) == 0


def test_forward_hooks_with_kwargs(torch):
    def run(mod_cls, t):
        class Scale(mod_cls):
            def forward(self, x, factor=1.0):
                return x * factor
        m = Scale()
        seen = []
        m.register_forward_pre_hook(lambda mod, a, kw: (a, {"factor": kw.get("factor", 1.0) * 10}),
                                    with_kwargs=True)
        m.register_forward_hook(lambda mod, a, kw, out: seen.append(dict(kw)) or out + 1, with_kwargs=True)
        out = m(t.ones(2), factor=2.0)
        bad = Scale()
        bad.register_forward_pre_hook(lambda mod, a, kw: "oops", with_kwargs=True)
        with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
            bad(t.ones(1))
        return out.tolist(), seen
    assert run(nn.Module, ctorch) == run(torch.nn.Module, torch)


# ---------------------------------------------------------------- repr

def _nested(nnmod):
    return nnmod.Sequential(OrderedDict([
        ("fc", nnmod.Linear(3, 4)),
        ("act", nnmod.LeakyReLU(0.2, inplace=True)),
        ("blocks", nnmod.ModuleList([nnmod.Linear(4, 4) for _ in range(3)] + [nnmod.GELU(approximate="tanh")])),
        ("heads", nnmod.ModuleDict({"a": nnmod.Linear(4, 2, bias=False),
                                    "b": nnmod.Sequential(nnmod.ReLU6(), nnmod.Identity())})),
        ("misc", nnmod.Sequential(nnmod.ELU(alpha=0.5), nnmod.SELU(), nnmod.SiLU(inplace=True), nnmod.Mish(),
                                  nnmod.Sigmoid(), nnmod.Tanh(), nnmod.Softmax(dim=1), nnmod.LogSoftmax(dim=-1),
                                  nnmod.Softplus(beta=2, threshold=10), nnmod.Softsign(),
                                  nnmod.Hardtanh(-2.0, 2.0), nnmod.Hardswish(), nnmod.Hardsigmoid(),
                                  nnmod.PReLU(3), nnmod.ReLU(), nnmod.Flatten(), nnmod.Unflatten(1, (2, 2)),
                                  nnmod.Bilinear(2, 3, 4), nnmod.ModuleList(), nnmod.Threshold(0.1, 20))),
    ]))


def test_repr_matches_torch(torch):
    assert repr(_nested(nn)) == repr(_nested(torch.nn))
    assert repr(nn.Module()) == "Module()"


def test_structure_matches_torch(torch):
    c, t = _nested(nn), _nested(torch.nn)
    assert [n for n, _ in c.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in c.named_children()] == [n for n, _ in t.named_children()]
    assert ([(n, tuple(p.shape)) for n, p in c.named_parameters()]
            == [(n, tuple(p.shape)) for n, p in t.named_parameters()])
    assert list(c.state_dict()) == list(t.state_dict())
    assert [n for n, _ in c.heads.named_parameters(prefix="h")] == [n for n, _ in t.heads.named_parameters(prefix="h")]
    assert {k for k in dir(c.fc) if not k.startswith("_")} <= set(dir(t.fc))  # no public names torch lacks


def test_module_deepcopy_pickle():
    m = nn.Sequential(nn.Linear(2, 3), nn.PReLU())
    m.register_buffer("b", ctorch.ones(2))
    x = ctorch.randn(4, 2)
    for c in (copy.deepcopy(m), pickle.loads(pickle.dumps(m))):
        assert type(c[0].weight) is nn.Parameter and c[0].weight.requires_grad
        assert c[0].weight.data_ptr() != m[0].weight.data_ptr() and repr(c) == repr(m)
        np.testing.assert_array_equal(c(x).detach().numpy(), m(x).detach().numpy())
        np.testing.assert_array_equal(c.b.numpy(), [1, 1])


# ---------------------------------------------------------------- containers

def test_sequential():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and s[-3] is a
    assert list(s) == [a, b, c]
    sl = s[1:]
    assert type(sl) is nn.Sequential and list(sl) == [b, c] and list(sl._modules) == ["1", "2"]
    with pytest.raises(IndexError):
        s[3]
    x = ctorch.randn(5, 2)
    np.testing.assert_allclose(s(x).detach().numpy(), c(b(a(x))).detach().numpy())
    s.append(nn.Tanh())
    assert len(s) == 4 and list(s._modules) == ["0", "1", "2", "3"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and s[1] is c
    s.insert(0, nn.Identity())
    assert type(s[0]) is nn.Identity and s[1] is a and list(s._modules) == ["0", "1", "2", "3"]
    s.insert(-1, b)
    assert s[3] is b
    s.extend([nn.Sigmoid(), nn.Sigmoid()])
    assert len(s) == 7
    del s[-2:]
    assert len(s) == 5
    s[0] = nn.ReLU()
    assert type(s[0]) is nn.ReLU
    named = nn.Sequential(OrderedDict(first=a, second=b))
    assert named.first is a and list(named._modules) == ["first", "second"]
    assert len(s + named) == 7


def test_module_list_dict():
    ml = nn.ModuleList([nn.Linear(1, 1), nn.ReLU()])
    ml.append(nn.Tanh())
    ml += [nn.Sigmoid()]
    assert len(ml) == 4 and type(ml[-1]) is nn.Sigmoid and type(ml[1:3]) is nn.ModuleList
    ml.insert(1, nn.Identity())
    assert [type(m).__name__ for m in ml] == ["Linear", "Identity", "ReLU", "Tanh", "Sigmoid"]
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2", "3"] and len(list(ml.parameters())) == 0
    with pytest.raises(TypeError):
        ml.extend(5)
    md = nn.ModuleDict({"a": nn.Linear(2, 2), "b": nn.ReLU()})
    assert list(md) == ["a", "b"] and "a" in md and len(md) == 2
    md["c"] = nn.Tanh()
    assert list(md.keys()) == ["a", "b", "c"] and type(md.pop("b")) is nn.ReLU
    md.update([("d", nn.Identity())])
    assert [k for k, _ in md.items()] == ["a", "c", "d"]
    assert [n for n, _ in md.named_parameters()] == ["a.weight", "a.bias"]
    md.clear()
    assert len(md) == 0


def test_parameter_list_dict():
    pl = nn.ParameterList([nn.Parameter(ctorch.ones(2)), ctorch.zeros(3)])
    assert len(pl) == 2 and all(type(p) is nn.Parameter for p in pl)
    pl.append(ctorch.ones(1))
    assert [n for n, _ in pl.named_parameters()] == ["0", "1", "2"] and pl[-1].shape == (1,)
    assert len(pl[1:]) == 2
    pd = nn.ParameterDict({"w": ctorch.ones(2)})
    pd["b"] = nn.Parameter(ctorch.zeros(1))
    assert list(pd) == ["w", "b"] and type(pd["w"]) is nn.Parameter and "b" in pd
    assert [n for n, _ in pd.named_parameters()] == ["w", "b"]
    del pd["w"]
    assert list(pd.keys()) == ["b"] and len(list(pd.parameters())) == 1
    with pytest.raises(RuntimeError):
        pl()

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.ps = nn.ParameterList([ctorch.ones(2)])
    assert list(M().state_dict()) == ["ps.0"]


# ---------------------------------------------------------------- vs torch: model outputs and gradients

@pytest.mark.parametrize("device", DEVICES)
def test_model_matches_torch(torch, device):
    def build(m):
        return m.Sequential(m.Linear(6, 8), m.GELU(), m.Linear(8, 8), m.LeakyReLU(0.1), m.PReLU(8),
                            m.Linear(8, 4), m.LogSoftmax(dim=1))
    if device != "cpu":
        x = ctorch.tensor(np.random.default_rng(0).standard_normal((5, 6)), requires_grad=True)
        compare_module_on_device(build(nn).double(), [x], device)
        return
    tm, cm = build(torch.nn).double(), build(nn).double()
    assert list(cm.state_dict()) == list(tm.state_dict())
    copy_weights(tm, cm)
    x = np.random.default_rng(0).standard_normal((5, 6))
    tx, cx = torch.tensor(x), ctorch.tensor(x)
    tl = (tm(tx) ** 2).sum()
    cl = (cm(cx) ** 2).sum()
    tl.backward()
    cl.backward()
    np.testing.assert_allclose(cl.item(), tl.item(), rtol=1e-12)
    tg = dict(tm.named_parameters())
    for n, p in cm.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), tg[n].grad.numpy(), rtol=1e-10, atol=1e-12)


def test_bilinear_flatten_match_torch(torch):
    tb, cb = torch.nn.Bilinear(3, 4, 5).double(), nn.Bilinear(3, 4, 5).double()
    copy_weights(tb, cb)
    rng = np.random.default_rng(1)
    x1, x2 = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 4))
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    c1, c2 = ctorch.tensor(x1, requires_grad=True), ctorch.tensor(x2, requires_grad=True)
    to, co = tb(t1, t2), cb(c1, c2)
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), rtol=1e-12)
    (to ** 2).sum().backward()
    (co ** 2).sum().backward()
    for a, b in [(c1.grad, t1.grad), (c2.grad, t2.grad), (cb.weight.grad, tb.weight.grad),
                 (cb.bias.grad, tb.bias.grad)]:
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10)
    x = ctorch.randn(2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60) and nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Unflatten(1, (2, 2))(ctorch.randn(3, 4)).shape == (3, 2, 2)
    with pytest.raises(TypeError):
        nn.Unflatten(1, 4)
    with pytest.raises(RuntimeError):
        F.bilinear(ctorch.randn(2, 3), ctorch.randn(3, 4), cb.weight)
    y = ctorch.randn(2, 3)
    assert nn.Identity(54, unused="x")(y) is y
    assert nn.Linear(3, 2, bias=False).bias is None


ACTS = [
    ("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {}), ("LeakyReLU", {"negative_slope": 0.3}),
    ("ELU", {}), ("ELU", {"alpha": 0.7}), ("SELU", {}), ("GELU", {}), ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}), ("Mish", {}), ("Sigmoid", {}), ("Tanh", {}), ("Softmax", {"dim": 1}),
    ("LogSoftmax", {"dim": 0}), ("Softplus", {}), ("Softplus", {"beta": 2.0, "threshold": 3.0}),
    ("Softsign", {}), ("Hardtanh", {}), ("Hardtanh", {"min_val": -2.0, "max_val": 0.5}), ("Hardswish", {}),
    ("Hardsigmoid", {}), ("PReLU", {}), ("PReLU", {"num_parameters": 4, "init": 0.1}),
    ("Threshold", {"threshold": 0.5, "value": -3.0}),
]


@pytest.mark.parametrize("name,kw", ACTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(ACTS)])
@pytest.mark.parametrize("device", DEVICES)
def test_activation_matches_torch(torch, name, kw, device):
    # inputs span [-8, 8] (both signs, both sides of every kink) but avoid the kinks themselves
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    x = rng.uniform(-8, 8, size=(3, 4, 5))
    x = np.where(np.abs(np.abs(x) - np.round(np.abs(x))) < 1e-3, x + 0.01, x)
    x = np.where(np.abs(x - 0.5) < 1e-3, x + 0.01, x)
    up = rng.standard_normal(x.shape)
    tm, cm = getattr(torch.nn, name)(**kw).double(), getattr(nn, name)(**kw).double()
    if device != "cpu":
        compare_module_on_device(cm, [ctorch.tensor(x, requires_grad=True)], device)
        return
    assert repr(cm) == repr(tm)
    tx, cx = torch.tensor(x, requires_grad=True), ctorch.tensor(x, requires_grad=True)
    to, co = tm(tx), cm(cx)
    np.testing.assert_allclose(co.detach().numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    (to * torch.tensor(up)).sum().backward()
    (co * ctorch.tensor(up)).sum().backward()
    # PyTorch's hardsigmoid backward multiplies by the float32 constant 1/6f even in float64
    rtol = 1e-7 if name == "Hardsigmoid" else 1e-9
    np.testing.assert_allclose(cx.grad.numpy(), tx.grad.numpy(), rtol=rtol, atol=1e-12)
    if name == "PReLU":
        np.testing.assert_allclose(cm.weight.grad.numpy(), tm.weight.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("name,kw", [("ReLU", {}), ("ReLU6", {}), ("LeakyReLU", {"negative_slope": 0.2}),
                                     ("ELU", {}), ("SELU", {}), ("SiLU", {}), ("Mish", {}), ("Hardtanh", {}),
                                     ("Hardswish", {}), ("Hardsigmoid", {}),
                                     ("Threshold", {"threshold": 0.1, "value": 2.0})])
def test_inplace_activations(torch, name, kw):
    x = np.random.default_rng(3).uniform(-5, 5, size=(4, 6))
    tx, cx = torch.tensor(x), ctorch.tensor(x)
    to = getattr(torch.nn, name)(inplace=True, **kw)(tx)
    cm = getattr(nn, name)(inplace=True, **kw)
    co = cm(cx)
    assert co is cx and "inplace=True" in repr(cm)
    np.testing.assert_allclose(cx.numpy(), tx.numpy(), rtol=1e-12, atol=1e-12)
    assert to is tx
    # gradients through the in-place form on a non-leaf equal torch's out-of-place gradients
    tl = torch.tensor(x, requires_grad=True)
    getattr(torch.nn, name)(**kw)(tl).sum().backward()
    cl = ctorch.tensor(x, requires_grad=True)
    cb = cl * 1
    assert cm(cb) is cb
    cb.sum().backward()
    np.testing.assert_allclose(cl.grad.numpy(), tl.grad.numpy(), rtol=1e-7, atol=1e-12)


def test_inplace_relu_gradient():
    a = ctorch.tensor([-1.0, 2.0, -3.0, 4.0], requires_grad=True)
    b = a * 1
    F.relu(b, inplace=True).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [0, 1, 0, 1])


def test_functional_errors_and_defaults(torch):
    with pytest.raises(RuntimeError, match="approximate"):
        F.gelu(ctorch.randn(2), approximate="fast")
    with pytest.raises(RuntimeError, match="Mismatch of parameter numbers"):
        F.prelu(ctorch.randn(2, 3), ctorch.ones(4))
    with pytest.raises(ValueError):
        nn.Hardtanh(1.0, -1.0)
    x = np.random.default_rng(0).standard_normal((2, 3, 4))
    # softmax's implicit dim (PyTorch's legacy rule: 0 for 1-D/3-D, else 1)
    np.testing.assert_allclose(F.softmax(ctorch.tensor(x)).numpy(),
                               torch.nn.functional.softmax(torch.tensor(x), dim=0).numpy(), rtol=1e-12)
    np.testing.assert_allclose(F.log_softmax(ctorch.tensor(x[0]), dtype=ctorch.float32).numpy(),
                               torch.nn.functional.log_softmax(torch.tensor(x[0]), 1, dtype=torch.float32).numpy(),
                               rtol=1e-5)
    big = ctorch.tensor([100.0, -100.0, 0.0], requires_grad=True)
    out = F.softplus(big)
    out.sum().backward()
    assert np.isfinite(big.grad.numpy()).all() and out[0].item() == 100.0


# ---------------------------------------------------------------- default initialisation

def test_linear_default_init_statistics():
    ctorch.manual_seed(0)
    fan_in = 50
    ws, bs = [], []
    for _ in range(40):
        lin = nn.Linear(fan_in, 64)
        ws.append(lin.weight.detach().numpy().ravel())
        bs.append(lin.bias.detach().numpy().ravel())
    w, b = np.concatenate(ws), np.concatenate(bs)
    bound = 1 / math.sqrt(fan_in)  # kaiming_uniform_(a=sqrt(5)) gives gain*sqrt(3/fan_in) = 1/sqrt(fan_in)
    for v in (w, b):
        assert v.min() >= -bound and v.max() <= bound
        assert v.min() < -0.95 * bound and v.max() > 0.95 * bound
        assert abs(v.mean()) < 0.05 * bound
        np.testing.assert_allclose(v.std(), bound / math.sqrt(3), rtol=0.05)
    assert lin.weight.shape == (64, fan_in) and lin.weight.requires_grad


def test_bilinear_default_init_statistics():
    ctorch.manual_seed(1)
    ws = np.concatenate([nn.Bilinear(20, 7, 30).weight.detach().numpy().ravel() for _ in range(5)])
    bound = 1 / math.sqrt(20)
    assert ws.min() >= -bound and ws.max() <= bound and ws.min() < -0.95 * bound
    np.testing.assert_allclose(ws.std(), bound / math.sqrt(3), rtol=0.05)
    assert abs(ws.mean()) < 0.05 * bound


def test_prelu_init_and_dtype():
    p = nn.PReLU(3, init=0.4, dtype=ctorch.float64)
    assert p.weight.dtype == ctorch.float64 and np.allclose(p.weight.detach().numpy(), 0.4)


def test_parameter_list_repr_matches_torch(torch):
    t = torch.nn.ParameterList([torch.nn.Parameter(torch.ones(2, 3)), torch.zeros(1, dtype=torch.float64)])
    c = nn.ParameterList([nn.Parameter(ctorch.ones(2, 3)), ctorch.zeros(1, dtype=ctorch.float64)])
    assert repr(c) == repr(t).replace("torch.", "ctorch.")
    outer_t, outer_c = torch.nn.Module(), nn.Module()
    outer_t.ps, outer_c.ps = t, c
    assert repr(outer_c) == repr(outer_t).replace("torch.", "ctorch.")


def test_linear_batch_dims_dtype_and_no_bias(torch):
    tl, cl = torch.nn.Linear(4, 3, bias=False).double(), nn.Linear(4, 3, bias=False, dtype=ctorch.float64)
    assert cl.weight.dtype == ctorch.float64 and cl.bias is None and list(cl.state_dict()) == ["weight"]
    copy_weights(tl, cl)
    x = np.random.default_rng(2).standard_normal((2, 5, 4))
    np.testing.assert_allclose(cl(ctorch.tensor(x)).detach().numpy(), tl(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)
    vec = np.arange(4.0)
    np.testing.assert_allclose(cl(ctorch.tensor(vec)).detach().numpy(), tl(torch.tensor(vec)).detach().numpy(),
                               rtol=1e-12)
    b = nn.Bilinear(2, 3, 1, bias=False)
    assert b.bias is None and b(ctorch.randn(4, 2), ctorch.randn(4, 3)).shape == (4, 1)
