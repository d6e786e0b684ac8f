"""ctorch.optim optimizers against torch.optim (foreach=False): 20-step trajectories, closures,
state_dict round trips, zero_grad, param groups and PyTorch's error cases. The core cases run on
every device: on CUDA the reference is the same run of ctorch on the CPU."""
import copy

import numpy as np
import pytest

import ctorch
from ctorch import optim
from conftest import DEVICES, assert_close_devices

torch = pytest.importorskip("torch")

SHAPES = [(3, 4), (5,), (2, 3, 2)]
TOL = 1e-10


def _init_values():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s) for s in SHAPES]


COEFS = [np.random.default_rng(1).standard_normal(s) for s in SHAPES]


def _loss(lib, params):
    # A fixed differentiable, non-quadratic loss: sum((p*c)^2 + sin(p)) over all parameters.
    total = None
    for p, c in zip(params, COEFS):
        term = ((p * lib.tensor(c, dtype=lib.float64, device=p.device)) ** 2 + lib.sin(p)).sum()
        total = term if total is None else total + term
    return total


def _make(lib, values=None, device="cpu"):
    values = _init_values() if values is None else values
    return [lib.tensor(v, dtype=lib.float64, device=device, requires_grad=True) for v in values]


def _reference(device):
    """What a run on `device` is compared with: torch on the CPU, or ctorch's CPU run on CUDA."""
    return torch if device == "cpu" else ctorch


def _np(t):
    return np.array(t.detach().tolist(), dtype=np.float64)


def _assert_params(cps, tps, msg=""):
    for cp, tp in zip(cps, tps):
        if isinstance(tp, ctorch.Tensor):  # a device run against ctorch on the CPU
            assert_close_devices(cp.detach(), tp.detach(), msg=msg)
        else:
            np.testing.assert_allclose(_np(cp), tp.detach().numpy(), rtol=0, atol=TOL, err_msg=msg)


def _opt(lib, name, params, kwargs):
    cls = getattr(lib.optim, name)
    if lib is torch:
        kwargs = dict(kwargs, foreach=False)
    return cls(params, **kwargs)


CASES = [
    ("SGD", {"lr": 0.01}),
    ("SGD", {"lr": 0.01, "momentum": 0.9}),
    ("SGD", {"lr": 0.01, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.01, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.05, "betas": (0.8, 0.9), "eps": 1e-6, "maximize": True}),
    ("Adam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.3, "maximize": True}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "weight_decay": 0.1, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.01, "centered": True, "momentum": 0.3, "eps": 1e-4, "maximize": True}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.2}),
    ("Adagrad", {"lr": 0.1, "eps": 1e-5, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"lr": 0.5, "maximize": True}),
    ("Adamax", {"lr": 0.05}),
    ("Adamax", {"lr": 0.05, "betas": (0.7, 0.95), "weight_decay": 0.1, "maximize": True}),
    ("NAdam", {"lr": 0.05}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("RAdam", {"lr": 0.05}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True, "betas": (0.8, 0.9)}),
]
IDS = [f"{n}-{i}" for i, (n, _) in enumerate(CASES)]


def _step(lib, opt, params):
    opt.zero_grad()
    _loss(lib, params).backward()
    opt.step()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_trajectory_matches_torch(name, kwargs, device):
    ref = _reference(device)
    cps, tps = _make(ctorch, device=device), _make(ref)
    copt, topt = _opt(ctorch, name, cps, kwargs), _opt(ref, name, tps, kwargs)
    for i in range(20):
        _step(ctorch, copt, cps)
        _step(ref, topt, tps)
        _assert_params(cps, tps, f"step {i}")
    # State has PyTorch's keys, dtypes and values.
    csd, tsd = copt.state_dict(), topt.state_dict()
    # torch was asked for foreach=False; ctorch keeps the default None (it has only the single-tensor path).
    strip = lambda groups: [{k: v for k, v in g.items() if k != "foreach"} for g in groups]  # noqa: E731
    assert strip(csd["param_groups"]) == strip(tsd["param_groups"])
    assert sorted(csd["state"]) == sorted(tsd["state"])
    for k, tstate in tsd["state"].items():
        cstate = csd["state"][k]
        assert sorted(cstate) == sorted(tstate)
        for key, tv in tstate.items():
            cv = cstate[key]
            assert str(cv.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], key
            assert tuple(cv.shape) == tuple(tv.shape), key
            # PyTorch's placement: "step" is a CPU scalar, the other state lives with the param.
            want = "cpu" if key in ("step", "mu_product") else ctorch.device(device).type
            assert cv.device.type == want, key
            if ref is ctorch:
                assert_close_devices(cv, tv, msg=key)
            else:
                np.testing.assert_allclose(_np(cv), tv.numpy(), rtol=1e-9, atol=TOL, err_msg=key)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kwargs", [CASES[1], CASES[5], CASES[12], CASES[14], CASES[22]],
                         ids=["SGD", "Adam", "RMSprop", "Adagrad", "NAdam"])
def test_closure(name, kwargs, device):
    ref = _reference(device)
    cps, tps = _make(ctorch, device=device), _make(ref)
    copt, topt = _opt(ctorch, name, cps, kwargs), _opt(ref, name, tps, kwargs)

    def closure(lib, opt, params):
        def f():
            # The step runs under no_grad; the closure must still be able to build a graph.
            assert lib.is_grad_enabled()
            opt.zero_grad()
            loss = _loss(lib, params)
            loss.backward()
            return loss
        return f

    for _ in range(20):
        closs = copt.step(closure(ctorch, copt, cps))
        tloss = topt.step(closure(ref, topt, tps))
        assert abs(closs.item() - tloss.item()) < 1e-9 * max(1.0, abs(tloss.item()))
        _assert_params(cps, tps)
    assert copt.step() is None


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_round_trip(name, kwargs, device):
    # 10 steps, save, new optimizer over the same params, load, 10 more steps, against the same
    # procedure in torch (and, where nothing is recast on load, against an uninterrupted run).
    def run(lib, interrupt, device="cpu"):
        params = _make(lib, device=device)
        opt = _opt(lib, name, params, kwargs)
        for _ in range(10):
            _step(lib, opt, params)
        if interrupt:
            sd = copy.deepcopy(opt.state_dict())
            opt = _opt(lib, name, params, kwargs)
            opt.load_state_dict(sd)
        for _ in range(10):
            _step(lib, opt, params)
        return params

    cps = run(ctorch, True, device)
    _assert_params(cps, run(_reference(device), True))
    if name != "NAdam":  # loading recasts mu_product to float64 (PyTorch's policy), so it drifts slightly
        for a, b in zip(cps, run(ctorch, False, device)):
            np.testing.assert_allclose(_np(a), _np(b), rtol=0, atol=TOL)


@pytest.mark.parametrize("device", DEVICES)
def test_load_state_dict_moves_state_to_the_params_device(device):
    # A checkpoint made on the CPU loads onto params on `device` (and back): every state tensor
    # but "step" follows its parameter, as in PyTorch.
    cpu_params = _make(ctorch)
    opt = optim.Adam(cpu_params, lr=0.1, amsgrad=True)
    _step(ctorch, opt, cpu_params)
    params = [p.detach().to(device).requires_grad_() for p in cpu_params]
    opt2 = optim.Adam(params, lr=0.1, amsgrad=True)
    opt2.load_state_dict(opt.state_dict())
    for p in params:
        for key, v in opt2.state[p].items():
            assert v.device.type == ("cpu" if key == "step" else ctorch.device(device).type), key
    _step(ctorch, opt2, params)
    _step(ctorch, opt, cpu_params)
    _assert_params(params, cpu_params)
    back = optim.Adam(_make(ctorch), lr=0.1, amsgrad=True)
    back.load_state_dict(opt2.state_dict())
    assert all(v.device.type == "cpu" for s in back.state.values() for v in s.values())


def test_state_layout_and_casting():
    params = _make(ctorch)
    opt = optim.Adam(params, lr=0.1, amsgrad=True)
    _step(ctorch, opt, params)
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2]
    assert sd["param_groups"][0]["params"] == [0, 1, 2]
    st = sd["state"][1]
    assert sorted(st) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    assert st["step"].dtype == ctorch.float32 and st["step"].dim() == 0 and st["step"].item() == 1.0
    assert opt.state[params[1]] is st
    # Load float32 state into float64 params: tensors take the param dtype, "step" stays float32.
    sd32 = {"state": {k: {n: (v if n == "step" else v.to(dtype=ctorch.float32)) for n, v in s.items()}
                      for k, s in sd["state"].items()},
            "param_groups": sd["param_groups"]}
    opt2 = optim.Adam(params, lr=0.5)
    opt2.load_state_dict(sd32)
    assert opt2.param_groups[0]["lr"] == 0.1 and opt2.param_groups[0]["params"][0] is params[0]
    assert opt2.state[params[0]]["exp_avg"].dtype == ctorch.float64
    assert opt2.state[params[0]]["step"].dtype == ctorch.float32


def test_load_state_dict_errors():
    p = _make(ctorch)
    opt = optim.SGD([{"params": p[:2]}, {"params": p[2:]}], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        optim.SGD(p, lr=0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match="doesn't match the size"):
        optim.SGD([{"params": p[:1]}, {"params": p[1:]}], lr=0.1).load_state_dict(opt.state_dict())


def test_zero_grad():
    params = _make(ctorch)
    opt = optim.SGD(params, lr=0.1)
    _loss(ctorch, params).backward()
    opt.zero_grad(set_to_none=False)
    for p in params:
        assert p.grad is not None and not p.grad.requires_grad
        assert _np(p.grad).tolist() == np.zeros(p.shape).tolist()
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_param_groups_and_skipped_params():
    values = _init_values()
    cps, tps = _make(ctorch, values), _make(torch, values)
    groups = lambda ps: [{"params": [ps[0]], "lr": 0.2, "momentum": 0.5}, {"params": ps[1:]}]  # noqa: E731
    copt = optim.SGD(groups(cps), lr=0.01, momentum=0.9)
    topt = torch.optim.SGD(groups(tps), lr=0.01, momentum=0.9, foreach=False)
    assert copt.param_groups[0]["lr"] == 0.2 and copt.param_groups[1]["lr"] == 0.01
    assert copt.param_groups[0]["momentum"] == 0.5 and copt.param_groups[1]["momentum"] == 0.9
    for _ in range(5):
        for lib, opt, ps in ((ctorch, copt, cps), (torch, topt, tps)):
            opt.zero_grad()
            _loss(lib, ps[:2]).backward()  # the last param gets no grad: skipped, no state
            opt.step()
        _assert_params(cps, tps)
    assert cps[2] not in copt.state and _np(cps[2]).tolist() == values[2].tolist()
    # add_param_group fills defaults.
    extra = ctorch.zeros(2, dtype=ctorch.float64, requires_grad=True)
    copt.add_param_group({"params": extra, "lr": 0.3})
    g = copt.param_groups[2]
    assert len(g["params"]) == 1 and g["params"][0] is extra
    assert g["lr"] == 0.3 and g["momentum"] == 0.9 and g["nesterov"] is False
    assert "Parameter Group 2" in repr(copt)


def test_adagrad_state_created_in_constructor():
    params = _make(ctorch)
    opt = optim.Adagrad(params, initial_accumulator_value=0.5)
    topt = torch.optim.Adagrad(_make(torch), initial_accumulator_value=0.5)
    assert sorted(opt.state_dict()["state"]) == sorted(topt.state_dict()["state"]) == [0, 1, 2]
    assert _np(opt.state[params[0]]["sum"]).tolist() == np.full(SHAPES[0], 0.5).tolist()


def test_errors():
    p = _make(ctorch)
    with pytest.raises(ValueError, match="optimizer got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="iterable of Tensors or dicts"):
        optim.SGD(p[0], lr=0.1)
    with pytest.raises(TypeError, match="ordered collections"):
        optim.SGD([{"params": {p[0]}}], lr=0.1)
    with pytest.raises(TypeError, match="can only optimize Tensors"):
        optim.SGD([p[0], 1.0], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p[0] * 2], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p[0]]}, {"params": [p[0], p[1]]}], lr=0.1)
    opt = optim.SGD([p[0]], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p[0]]})
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([p[1], p[1]], lr=0.1)
    with pytest.raises(ValueError, match="Invalid learning rate"):
        optim.Adam(p, lr=-1.0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 0"):
        optim.Adam(p, betas=(1.0, 0.9))
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1"):
        optim.AdamW(p, betas=(0.9, -0.1))
    with pytest.raises(ValueError, match="Invalid epsilon value"):
        optim.RMSprop(p, eps=-1e-8)
    with pytest.raises(ValueError, match="Invalid weight_decay value"):
        optim.Adagrad(p, weight_decay=-1)
    with pytest.raises(ValueError, match="Invalid rho value"):
        optim.Adadelta(p, rho=1.5)
    with pytest.raises(ValueError, match="Invalid momentum value"):
        optim.SGD(p, momentum=-0.5)
    with pytest.raises(ValueError, match="Invalid momentum_decay value"):
        optim.NAdam(p, momentum_decay=-1)
    with pytest.raises(ValueError, match="Nesterov momentum requires a momentum and zero dampening"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(NotImplementedError, match="fused"):
        optim.Adam(p, fused=True)
    with pytest.raises(NotImplementedError, match="Tensor `lr`"):
        optim.SGD([{"params": p, "lr": ctorch.tensor(0.1)}], lr=0.1)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                                  "RAdam"])
def test_float32_params(name):
    # State follows the parameter dtype (except "step"/"mu_product", float32 anyway); float32
    # rounding may differ in the last bits, hence the looser tolerance.
    values = [v.astype(np.float32) for v in _init_values()]
    cps = [ctorch.tensor(v, dtype=ctorch.float32, requires_grad=True) for v in values]
    tps = [torch.tensor(v, dtype=torch.float32, requires_grad=True) for v in values]
    kwargs = {"lr": 0.01} if name != "Adadelta" else {}
    copt, topt = _opt(ctorch, name, cps, kwargs), _opt(torch, name, tps, kwargs)
    for _ in range(10):
        _step(ctorch, copt, cps)
        _step(torch, topt, tps)
    for cp, tp in zip(cps, tps):
        assert cp.dtype == ctorch.float32
        np.testing.assert_allclose(_np(cp), tp.detach().numpy(), rtol=1e-5, atol=1e-5)
    for key, v in copt.state[cps[0]].items():
        assert str(v.dtype).split(".")[-1] == str(topt.state[tps[0]][key].dtype).split(".")[-1], key


def test_pickle_and_deepcopy():
    import pickle
    params = _make(ctorch)
    opt = optim.RMSprop(params, lr=0.01, momentum=0.5)
    _step(ctorch, opt, params)
    opt.zero_grad()  # copy without .grad (Tensor.__deepcopy__ of several params with grads is broken in core)
    for clone in (pickle.loads(pickle.dumps(opt)), copy.deepcopy(opt)):
        assert type(clone) is optim.RMSprop and clone.defaults == opt.defaults
        p0 = clone.param_groups[0]["params"][0]
        assert _np(clone.state[p0]["momentum_buffer"]).tolist() == \
            _np(opt.state[params[0]]["momentum_buffer"]).tolist()
        # Continuing from the copy follows the original's trajectory.
        cparams = [p for g in clone.param_groups for p in g["params"]]
        _step(ctorch, clone, cparams)
    _step(ctorch, opt, params)
    assert _np(cparams[1]).tolist() == _np(params[1]).tolist()


def test_step_does_not_record_graph():
    params = _make(ctorch)
    opt = optim.Adam(params, lr=0.1)
    _step(ctorch, opt, params)
    assert all(p.is_leaf and p.grad_fn is None for p in params)
    assert all(not v.requires_grad for v in opt.state[params[0]].values())


FUSED_CASES = [c for c in CASES if c[0] in ("SGD", "Adam", "AdamW")]


@pytest.mark.parametrize("name,kwargs", FUSED_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FUSED_CASES)])
def test_unfused_path_matches_torch(name, kwargs):
    # Contiguous float parameters take the fused C++ step; a transposed (non-contiguous) leaf takes the
    # elementwise path. Both must follow torch.
    values = _init_values()
    cps = [ctorch.tensor(v.T.copy(), dtype=ctorch.float64).t().requires_grad_() for v in values[:1]]
    assert not cps[0].is_contiguous()
    cps += _make(ctorch, values[1:])
    tps = _make(torch, values)
    copt, topt = _opt(ctorch, name, cps, kwargs), _opt(torch, name, tps, kwargs)
    for i in range(10):
        _step(ctorch, copt, cps)
        _step(torch, topt, tps)
        _assert_params(cps, tps, f"step {i}")


def test_fused_step_float32_matches_torch():
    rng = np.random.default_rng(3)
    for name, kwargs in FUSED_CASES:
        w = rng.standard_normal((64, 33)).astype(np.float32)
        cp = ctorch.tensor(w, requires_grad=True)
        tp = torch.tensor(w, requires_grad=True)
        copt, topt = _opt(ctorch, name, [cp], kwargs), _opt(torch, name, [tp], kwargs)
        for _ in range(5):
            for lib, p, opt in ((ctorch, cp, copt), (torch, tp, topt)):
                opt.zero_grad()
                (p.sin() * p).sum().backward()
                opt.step()
        np.testing.assert_allclose(_np(cp), tp.detach().numpy(), rtol=1e-5, atol=1e-6, err_msg=name)
