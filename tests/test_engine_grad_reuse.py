"""backward() writes an activation's gradient over the incoming one only where nobody else
can see it (engine.backward, Function.backward_writes_over_grad)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.autograd import engine
from chainrule.ops import activation

REUSING = (activation.ReLU, activation.Tanh, activation.Sigmoid)


@pytest.fixture(autouse=True)
def reuse_small_arrays(monkeypatch):
    """The tests' arrays are small: let them take the in-place path the large ones take."""
    monkeypatch.setattr(engine, "_REUSE_MIN", 1)


@pytest.fixture
def in_place_calls(monkeypatch):
    """Counts backward_in_place calls per op class name."""
    calls = []
    for cls in REUSING:
        original = cls.backward_in_place

        def spy(self, grad, original=original):
            calls.append(type(self).__name__)
            return original(self, grad)

        monkeypatch.setattr(cls, "backward_in_place", spy)
    return calls


def _model(dtype=cr.float64):
    cr.manual_seed(3)
    return nn.Sequential(
        nn.Linear(5, 7),
        nn.ReLU(),
        nn.Linear(7, 6),
        nn.Tanh(),
        nn.Linear(6, 4),
        nn.Sigmoid(),
        nn.Linear(4, 3),
    ).to(dtype)


def _grads(model, x, target):
    model.zero_grad()
    loss = ((model(x) - target) ** 2).mean()
    loss.backward()
    return [p.grad.detach().numpy().copy() for p in model.parameters()]


def _without_reuse(monkeypatch, fn):
    with monkeypatch.context() as m:
        for cls in REUSING:
            m.setattr(cls, "backward_writes_over_grad", False)
        return fn()


@pytest.mark.parametrize("dtype", [cr.float64, cr.float32])
def test_same_bits_as_fresh_gradients_and_reuse_happens(monkeypatch, in_place_calls, dtype):
    model = _model(dtype)
    x, target = (
        cr.randn(9, 5, dtype=cr.float64).to(dtype),
        cr.randn(9, 3, dtype=cr.float64).to(dtype),
    )
    reused = _grads(model, x, target)
    assert sorted(set(in_place_calls)) == ["ReLU", "Sigmoid", "Tanh"]
    fresh = _without_reuse(monkeypatch, lambda: _grads(model, x, target))
    for a, b in zip(reused, fresh):
        np.testing.assert_array_equal(a, b)


def test_matches_torch():
    torch = pytest.importorskip("torch")
    model = _model()
    twin = torch.nn.Sequential(
        torch.nn.Linear(5, 7),
        torch.nn.ReLU(),
        torch.nn.Linear(7, 6),
        torch.nn.Tanh(),
        torch.nn.Linear(6, 4),
        torch.nn.Sigmoid(),
        torch.nn.Linear(4, 3),
    ).double()
    twin.load_state_dict(
        {k: torch.tensor(np.asarray(getattr(v, "array", v))) for k, v in model.state_dict().items()}
    )
    x = np.random.default_rng(0).standard_normal((9, 5))
    target = np.random.default_rng(1).standard_normal((9, 3))
    ours = _grads(model, cr.tensor(x, dtype=cr.float64), cr.tensor(target, dtype=cr.float64))
    ((twin(torch.tensor(x)) - torch.tensor(target)) ** 2).mean().backward()
    for a, p in zip(ours, twin.parameters()):
        np.testing.assert_allclose(a, p.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_a_hook_that_keeps_the_gradient_sees_it_unchanged(monkeypatch, in_place_calls):
    model = _model()
    x, target = cr.randn(4, 5, dtype=cr.float64), cr.randn(4, 3, dtype=cr.float64)
    seen = []
    hidden = model[:2](x)  # a ReLU output
    hidden.register_hook(lambda g: seen.append(g.detach().numpy()))
    ((model[2:](hidden) - target) ** 2).mean().backward()
    kept = seen[0].copy()

    def fresh():
        h = model[:2](x)
        h.retain_grad()
        ((model[2:](h) - target) ** 2).mean().backward()
        return h.grad.detach().numpy()

    np.testing.assert_array_equal(kept, _without_reuse(monkeypatch, fresh))
    np.testing.assert_array_equal(seen[0], kept)  # not written over after the hook ran
    assert "ReLU" not in in_place_calls  # the hook held that gradient


def test_a_hook_may_return_an_array_it_also_keeps():
    x = cr.randn(6, dtype=cr.float64, requires_grad=True)
    y = cr.relu(x)
    replacement = np.full(6, 2.0)
    y.register_hook(lambda g: cr.tensor(replacement, dtype=cr.float64))  # the dtype of g
    (y * 1.0).sum().backward()
    np.testing.assert_array_equal(replacement, np.full(6, 2.0))
    np.testing.assert_array_equal(x.grad.detach().numpy(), 2.0 * (x.detach().numpy() > 0))


def test_a_callers_gradient_is_never_written_over():
    x = cr.randn(3, 4, dtype=cr.float64, requires_grad=True)
    given = np.random.default_rng(0).standard_normal((3, 4))
    before = given.copy()
    cr.tanh(x).backward(given)
    np.testing.assert_array_equal(given, before)
    np.testing.assert_allclose(
        x.grad.detach().numpy(), before * (1 - np.tanh(x.detach().numpy()) ** 2)
    )
    as_tensor = cr.tensor(before.copy(), dtype=cr.float64)
    x.grad = None
    cr.relu(x).backward(as_tensor)
    np.testing.assert_array_equal(as_tensor.detach().numpy(), before)


def test_retain_graph_twice_gives_twice_the_gradient():
    model = _model()
    x, target = cr.randn(5, 5, dtype=cr.float64), cr.randn(5, 3, dtype=cr.float64)
    loss = ((model(x) - target) ** 2).sum()
    loss.backward(retain_graph=True)
    once = [p.grad.detach().numpy().copy() for p in model.parameters()]
    loss.backward()
    for a, p in zip(once, model.parameters()):
        np.testing.assert_allclose(p.grad.detach().numpy(), 2 * a, rtol=1e-13)


def test_autograd_grad_of_an_intermediate_is_not_overwritten():
    model = _model()
    x, target = cr.randn(4, 5, dtype=cr.float64), cr.randn(4, 3, dtype=cr.float64)
    h = model[:2](x)
    out = model[2:4](h)
    loss = ((model[4:](out) - target) ** 2).sum()
    g_out, g_h = cr.autograd.grad(loss, [out, h])
    # ∂loss/∂h = (∂loss/∂out · tanh') W₂: the gradient at `out` must be the one before tanh'
    t = out.detach().numpy()
    w = model[2].weight.detach().numpy()
    np.testing.assert_allclose(
        g_h.detach().numpy(), (g_out.detach().numpy() * (1 - t * t)) @ w, rtol=1e-12
    )


def test_small_gradients_stay_fresh_large_ones_are_reused(monkeypatch, in_place_calls):
    monkeypatch.setattr(engine, "_REUSE_MIN", 4096)
    for rows, expected in ((8, []), (1024, ["ReLU"])):
        x = cr.randn(rows, 4, dtype=cr.float64, requires_grad=True)
        in_place_calls.clear()
        (cr.relu(x) * 2.0).sum().backward()
        assert in_place_calls == expected
        np.testing.assert_array_equal(x.grad.detach().numpy(), 2.0 * (x.detach().numpy() > 0))
