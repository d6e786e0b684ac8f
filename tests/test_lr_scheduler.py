"""ctorch.optim.lr_scheduler against torch.optim.lr_scheduler: lr (and momentum) sequences over
30 epochs, state_dict round trips and error cases."""
import copy
import math
import warnings

import pytest

import ctorch
from ctorch import optim
from ctorch.optim import lr_scheduler

torch = pytest.importorskip("torch")

EPOCHS = 30


def _optimizer(lib, kind="SGD"):
    p1 = lib.zeros(2, dtype=lib.float64, requires_grad=True)
    p2 = lib.zeros(3, dtype=lib.float64, requires_grad=True)
    groups = [{"params": [p1]}, {"params": [p2], "lr": 0.05}]
    if kind == "SGD":
        return lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    return lib.optim.Adam(groups, lr=0.1)


def _lambda(epoch):
    return 0.95 ** epoch + 0.01 * epoch


def _mult(epoch):
    return 0.9 if epoch % 3 else 1.05


# (name, kwargs, optimizer kind); a callable kwargs builds sub-schedulers for the given library.
CASES = [
    ("StepLR", {"step_size": 4}, "SGD"),
    ("StepLR", {"step_size": 3, "gamma": 0.5}, "SGD"),
    ("MultiStepLR", {"milestones": [3, 7, 7, 20], "gamma": 0.3}, "SGD"),
    ("ExponentialLR", {"gamma": 0.9}, "SGD"),
    ("CosineAnnealingLR", {"T_max": 10}, "SGD"),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 0.001}, "SGD"),
    ("CosineAnnealingWarmRestarts", {"T_0": 5}, "SGD"),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.002}, "SGD"),
    ("LambdaLR", {"lr_lambda": _lambda}, "SGD"),
    ("MultiplicativeLR", {"lr_lambda": _mult}, "SGD"),
    ("LinearLR", {}, "SGD"),
    ("LinearLR", {"start_factor": 0.2, "end_factor": 0.8, "total_iters": 12}, "SGD"),
    ("ConstantLR", {}, "SGD"),
    ("ConstantLR", {"factor": 0.25, "total_iters": 9}, "SGD"),
    ("PolynomialLR", {"total_iters": 12, "power": 2.0}, "SGD"),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": EPOCHS + 1}, "SGD"),
    ("OneCycleLR", {"max_lr": [0.5, 0.2], "total_steps": EPOCHS + 1, "anneal_strategy": "linear",
                    "three_phase": True, "pct_start": 0.25}, "Adam"),
    ("OneCycleLR", {"max_lr": 0.4, "epochs": 4, "steps_per_epoch": 8, "cycle_momentum": False,
                    "div_factor": 10.0, "final_div_factor": 100.0}, "SGD"),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4}, "SGD"),
    ("CyclicLR", {"base_lr": [0.01, 0.02], "max_lr": 0.1, "step_size_up": 3, "step_size_down": 5,
                  "mode": "triangular2"}, "Adam"),
    ("CyclicLR", {"base_lr": 0.01, "max_lr": 0.1, "step_size_up": 4, "mode": "exp_range", "gamma": 0.9,
                  "cycle_momentum": False}, "SGD"),
    ("SequentialLR", lambda lib, opt: {
        "schedulers": [lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5),
                       lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.9),
                       lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=6)],
        "milestones": [5, 15]}, "SGD"),
    ("ChainedScheduler", lambda lib, opt: {
        "schedulers": [lib.optim.lr_scheduler.ConstantLR(opt, factor=0.5, total_iters=4),
                       lib.optim.lr_scheduler.ExponentialLR(opt, gamma=0.95),
                       lib.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)]}, "SGD"),
]
IDS = [f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)]


def _scheduler(lib, name, kwargs, opt):
    kw = kwargs(lib, opt) if callable(kwargs) else kwargs
    return getattr(lib.optim.lr_scheduler, name)(opt, **kw) if name != "ChainedScheduler" else \
        lib.optim.lr_scheduler.ChainedScheduler(kw["schedulers"], optimizer=opt)


def _momenta(opt):
    return [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]


def _run(lib, name, kwargs, kind, epochs=EPOCHS):
    opt = _optimizer(lib, kind)
    sched = _scheduler(lib, name, kwargs, opt)
    seq = [(list(sched.get_last_lr()), _momenta(opt))]
    for _ in range(epochs):
        opt.step()
        sched.step()
        seq.append((list(sched.get_last_lr()), _momenta(opt)))
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return seq, opt, sched


def _close(a, b):
    return all(math.isclose(x, y, rel_tol=1e-14, abs_tol=1e-16) for x, y in zip(a, b)) and len(a) == len(b)


def _assert_seq(cseq, tseq):
    for i, ((clr, cm), (tlr, tm)) in enumerate(zip(cseq, tseq)):
        assert _close(clr, tlr), (i, clr, tlr)
        assert _close(cm, tm), (i, cm, tm)
    assert len(cseq) == len(tseq)


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=IDS)
def test_sequence_matches_torch(name, kwargs, kind):
    cseq, copt, csched = _run(ctorch, name, kwargs, kind)
    tseq, topt, tsched = _run(torch, name, kwargs, kind)
    _assert_seq(cseq, tseq)
    # The optimizer's groups carry the same scheduler bookkeeping keys (initial_lr, max_lr, ...).
    for cg, tg in zip(copt.state_dict()["param_groups"], topt.state_dict()["param_groups"]):
        assert sorted(cg) == sorted(tg)
    if hasattr(tsched, "last_epoch"):
        assert csched.last_epoch == tsched.last_epoch


@pytest.mark.parametrize("name,kwargs,kind", CASES, ids=IDS)
def test_state_dict_round_trip(name, kwargs, kind):
    full, _, _ = _run(ctorch, name, kwargs, kind)
    first, opt, sched = _run(ctorch, name, kwargs, kind, epochs=EPOCHS // 2)
    osd, ssd = copy.deepcopy(opt.state_dict()), copy.deepcopy(sched.state_dict())
    assert "optimizer" not in ssd
    opt2 = _optimizer(ctorch, kind)
    opt2.load_state_dict(osd)
    sched2 = _scheduler(ctorch, name, kwargs, opt2)
    sched2.load_state_dict(ssd)
    # The schedulers' constructors stepped once: restore the optimizer's lrs from the checkpoint.
    opt2.load_state_dict(osd)
    seq = first
    for _ in range(EPOCHS - EPOCHS // 2):
        opt2.step()
        sched2.step()
        seq.append((list(sched2.get_last_lr()), _momenta(opt2)))
    _assert_seq(seq, full)


def _plateau_run(lib, metrics, **kwargs):
    opt = _optimizer(lib)
    sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
    out = []
    for m in metrics:
        opt.step()
        sched.step(m)
        out.append(list(sched.get_last_lr()))
    return out, sched


PLATEAU_METRICS = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.85, 0.86, 0.87, 0.88, 0.849, 0.8495, 0.85, 0.7, 0.71,
                   0.72, 0.73, 0.74, 0.75, 0.76, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3]


@pytest.mark.parametrize("kwargs", [
    {"patience": 2},
    {"mode": "max", "factor": 0.5, "patience": 1, "threshold": 0.01, "threshold_mode": "abs"},
    {"factor": 0.3, "patience": 1, "cooldown": 2, "min_lr": [0.01, 0.002], "threshold": 0.05},
    {"factor": 0.5, "patience": 0, "min_lr": 0.04, "eps": 1e-3},
])
def test_reduce_lr_on_plateau(kwargs):
    cout, csched = _plateau_run(ctorch, PLATEAU_METRICS, **kwargs)
    tout, tsched = _plateau_run(torch, PLATEAU_METRICS, **kwargs)
    for c, t in zip(cout, tout):
        assert _close(c, t), (c, t)
    assert csched.best == tsched.best and csched.num_bad_epochs == tsched.num_bad_epochs
    # Round trip: a new scheduler loaded from the state continues identically.
    half = len(PLATEAU_METRICS) // 2
    out1, s1 = _plateau_run(ctorch, PLATEAU_METRICS[:half], **kwargs)
    opt2 = _optimizer(ctorch)
    opt2.load_state_dict(s1.optimizer.state_dict())
    s2 = lr_scheduler.ReduceLROnPlateau(opt2, **kwargs)
    s2.load_state_dict(copy.deepcopy(s1.state_dict()))
    for m in PLATEAU_METRICS[half:]:
        s2.step(m)
        out1.append(list(s2.get_last_lr()))
    assert out1 == cout


def test_closed_form_with_epoch_argument():
    for name, kw in [("StepLR", {"step_size": 3}), ("CosineAnnealingLR", {"T_max": 10}),
                     ("ExponentialLR", {"gamma": 0.8}), ("MultiStepLR", {"milestones": [2, 5]})]:
        out = []
        for lib in (ctorch, torch):
            opt = _optimizer(lib)
            sched = getattr(lib.optim.lr_scheduler, name)(opt, **kw)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for e in (4, 9, 2):
                    opt.step()
                    sched.step(e)
            out.append(sched.get_last_lr())
        assert _close(out[0], out[1]), name


def test_warnings_and_errors():
    opt = _optimizer(ctorch)
    sched = lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()
    with pytest.warns(UserWarning, match="get_last_lr"):
        sched.get_lr()
    with pytest.raises(TypeError, match="is not an Optimizer"):
        lr_scheduler.StepLR(object(), step_size=2)
    with pytest.raises(KeyError, match="initial_lr"):
        lr_scheduler.StepLR(_optimizer(ctorch), step_size=2, last_epoch=3)
    with pytest.raises(ValueError, match="Factor should be < 1.0"):
        lr_scheduler.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode foo is unknown"):
        lr_scheduler.ReduceLROnPlateau(opt, mode="foo")
    with pytest.raises(ValueError, match="Constant multiplicative factor"):
        lr_scheduler.ConstantLR(opt, factor=2.0)
    with pytest.raises(ValueError, match="Starting multiplicative factor"):
        lr_scheduler.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="Expected positive integer T_0"):
        lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="total_steps OR"):
        lr_scheduler.OneCycleLR(opt, max_lr=0.1)
    with pytest.raises(ValueError, match="same length as optimizer.param_groups"):
        lr_scheduler.OneCycleLR(opt, max_lr=[0.1], total_steps=10)
    with pytest.raises(ValueError, match="mode is invalid"):
        lr_scheduler.CyclicLR(opt, 0.01, 0.1, mode="bad")
    adagrad = optim.Adagrad([ctorch.zeros(2, requires_grad=True)])
    with pytest.raises(ValueError, match="must support momentum or beta1"):
        lr_scheduler.OneCycleLR(adagrad, max_lr=0.1, total_steps=10)
    one = lr_scheduler.OneCycleLR(_optimizer(ctorch), max_lr=0.1, total_steps=2)
    with pytest.raises(ValueError, match="Tried to step 3 times"):
        for _ in range(3):  # last_epoch 1 and 2 are valid, 3 is past total_steps
            one.optimizer.step()
            one.step()
    with pytest.raises(ValueError, match="number of milestone points"):
        lr_scheduler.SequentialLR(opt, [lr_scheduler.StepLR(opt, 2)], milestones=[3])
    plateau = lr_scheduler.ReduceLROnPlateau(opt)
    with pytest.raises(ValueError, match="does not support `ReduceLROnPlateau`"):
        lr_scheduler.ChainedScheduler([plateau])
