"""End to end: a two-layer MLP trained with hand-written SGD follows PyTorch's trajectory."""
import pytest

import ctorch


def train(lib, data, steps=20, lr=0.1):
    x, y, w1, b1, w2, b2 = (lib.tensor(d, dtype=lib.int64 if i == 1 else lib.float64)
                            for i, d in enumerate(data))
    params = [p.requires_grad_() for p in (w1, b1, w2, b2)]
    losses = []
    for _ in range(steps):
        h = (x @ params[0] + params[1]).relu()
        logits = h @ params[2] + params[3]
        loss = -logits.log_softmax(dim=1).gather(1, y[:, None]).mean()
        for p in params:
            p.grad = None
        loss.backward()
        with lib.no_grad():
            for p in params:
                p -= lr * p.grad
        losses.append(loss.item())
    return losses, [p.detach().tolist() for p in params]


def _data():
    g = ctorch.Generator().manual_seed(0)
    x = ctorch.randn(32, 5, generator=g, dtype=ctorch.float64)
    y = (x[:, 0] + x[:, 1] > 0).long() + (x[:, 2] > 1).long()
    w1 = ctorch.randn(5, 16, generator=g, dtype=ctorch.float64) * 0.5
    b1 = ctorch.zeros(16, dtype=ctorch.float64)
    w2 = ctorch.randn(16, 3, generator=g, dtype=ctorch.float64) * 0.5
    b2 = ctorch.zeros(3, dtype=ctorch.float64)
    return [t.tolist() for t in (x, y, w1, b1, w2, b2)]


def test_loss_decreases():
    losses, _ = train(ctorch, _data(), steps=60, lr=0.3)
    assert losses[-1] < 0.6 * losses[0]


def test_trajectory_matches_torch():
    torch = pytest.importorskip("torch")
    data = _data()
    got_losses, got_params = train(ctorch, data)
    want_losses, want_params = train(torch, data)
    assert got_losses == pytest.approx(want_losses, rel=1e-9, abs=1e-12)
    for g, w in zip(got_params, want_params):
        assert ctorch.tensor(g).sub(ctorch.tensor(w)).abs().max().item() < 1e-9
