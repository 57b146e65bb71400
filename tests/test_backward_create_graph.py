"""``loss.backward(create_graph=True)``: ``.grad`` as tensors in the graph, against PyTorch.

The same computation in both libraries, same numbers in, and every ``.grad`` compared: after
the recorded pass, after differentiating the gradients again (a gradient penalty), after
accumulating into a gradient that carries a graph, and through the options (``inputs``,
``retain_grad``, hooks, ``autograd.backward``).
"""

import gc
import weakref

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

LIBS = {"cr": cr, "torch": torch}


def _t(lib, values, requires_grad=True):
    lib = LIBS[lib]
    return lib.tensor(np.array(values), dtype=lib.float64, requires_grad=requires_grad)


def _np(t):
    return None if t is None else t.detach().numpy()


def _both(fn):
    """``fn(lib)`` run on chainrule and PyTorch: their results, as NumPy arrays, side by side."""
    return [[_np(t) for t in fn(name)] for name in ("cr", "torch")]


def _assert_same(fn):
    ours, theirs = _both(fn)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_grad_is_in_the_graph_and_differentiates_again():
    def run(lib):
        x = _t(lib, [1.0, 2.0, -0.5])
        (x**3).sum().backward(create_graph=True)
        assert x.grad.requires_grad and x.grad.grad_fn is not None
        first = x.grad.detach().clone()
        (x.grad**2).sum().backward()  # adds ∂(Σ (3x²)²)/∂x = 36x³ into x.grad
        return first, x.grad

    _assert_same(run)


def test_gradient_penalty_on_a_model_matches_torch():
    rng = np.random.default_rng(0)
    w1, b1 = rng.standard_normal((4, 3)), rng.standard_normal(4)
    w2, b2 = rng.standard_normal((1, 4)), rng.standard_normal(1)
    x0, y0 = rng.standard_normal((5, 3)), rng.standard_normal((5, 1))

    def run(lib):
        nn = LIBS[lib].nn
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)).double()
        with LIBS[lib].no_grad():
            for p, v in zip(model.parameters(), (w1, b1, w2, b2)):
                p.copy_(_t(lib, v, False))
        x, y = _t(lib, x0, False), _t(lib, y0, False)
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward(create_graph=True)
        penalty = sum((p.grad**2).sum() for p in model.parameters())
        penalty.backward()
        return [penalty] + [p.grad for p in model.parameters()]

    _assert_same(run)


def test_second_create_graph_pass_accumulates_out_of_place():
    def run(lib):
        x = _t(lib, [1.0, 2.0])
        (x**3).sum().backward(create_graph=True)
        kept = x.grad
        (x**2).sum().backward(create_graph=True)
        assert x.grad is not kept  # a new tensor: kept still holds 3x²
        assert x.grad.requires_grad
        return kept, x.grad

    _assert_same(run)


def test_plain_backward_into_a_graph_gradient_leaves_that_graph_intact():
    """PyTorch adds a plain backward's gradient into such a .grad in place, and a graph that
    read the old gradient then refuses ("modified by an inplace operation"); chainrule adds
    out of place, and that graph differentiates the values it read, never changed ones."""
    x = _t("cr", [1.0, 2.0, 3.0])
    (x**3).sum().backward(create_graph=True)
    kept = x.grad
    penalty = (x.grad**2).sum()  # reads 3x² as it is now
    (5 * x).sum().backward()  # accumulates into x.grad
    assert x.grad is not kept and x.grad.requires_grad
    (grad_penalty,) = cr.autograd.grad(penalty, x)
    values = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(_np(x.grad), 3 * values**2 + 5)
    np.testing.assert_allclose(_np(kept), 3 * values**2)
    np.testing.assert_allclose(_np(grad_penalty), 36 * values**3)  # ∂Σ(3x²)²/∂x
    xt = _t("torch", [1.0, 2.0, 3.0])
    (xt**3).sum().backward(create_graph=True)
    penalty_t = (xt.grad**2).sum()
    (5 * xt).sum().backward()
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        torch.autograd.grad(penalty_t, xt)


def test_constant_gradient_is_a_plain_tensor():
    for lib in ("cr", "torch"):
        a = _t(lib, [1.0, 2.0])
        (a * 2).sum().backward(create_graph=True)
        assert not a.grad.requires_grad and a.grad.grad_fn is None
        np.testing.assert_array_equal(_np(a.grad), [2.0, 2.0])


def test_seed_is_copied_and_retain_grad_and_inputs_get_their_gradients():
    def run(lib):
        z = _t(lib, [1.0, 2.0])
        w = z * 3
        w.retain_grad()
        seed = _t(lib, [1.0, -1.0])
        w.backward(seed, create_graph=True)
        assert z.grad is not seed and w.grad is not seed
        u = _t(lib, [0.5, 4.0])
        v = u.exp()
        out = (v * v).sum()
        out.backward(inputs=[v], create_graph=True)
        return z.grad, w.grad, v.grad, u.grad

    _assert_same(run)


def test_graph_is_kept_unless_retain_graph_is_false():
    for lib in ("cr", "torch"):
        x = _t(lib, [1.0, 2.0])
        y = (x.exp() * x).sum()
        y.backward(create_graph=True)
        y.backward(create_graph=True)  # the graph was kept (retain_graph defaults to True)
        np.testing.assert_allclose(_np(x.grad), 2 * (np.exp([1.0, 2.0]) * [2.0, 3.0]))
        z = (x.exp() * x).sum()
        z.backward(create_graph=True, retain_graph=False)
        with pytest.raises(RuntimeError):
            z.backward()


def test_post_accumulate_hook_sees_the_graph_gradient_once():
    for lib in ("cr", "torch"):
        x = _t(lib, [1.0, 2.0])
        seen = []
        x.register_post_accumulate_grad_hook(lambda p, seen=seen: seen.append(p.grad.requires_grad))
        (x**2 * x).sum().backward(create_graph=True)
        assert seen == [True], lib


def test_autograd_backward_with_create_graph():
    def run(lib):
        x = _t(lib, [0.3, -1.2])
        LIBS[lib].autograd.backward([(x**3).sum(), x.sin().sum()], create_graph=True)
        first = x.grad.detach().clone()
        x.grad.sum().backward()
        return first, x.grad

    _assert_same(run)


def test_zero_grad_releases_the_graph_held_by_grad():
    model = cr.nn.Linear(3, 2).double()
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    out = model(cr.ones(4, 3, dtype=cr.float64))
    out.pow(2).sum().backward(create_graph=True)
    assert all(p.grad.requires_grad for p in model.parameters())
    watcher = weakref.ref(model.weight.grad.grad_fn)
    opt.step()  # the optimizer reads the values
    opt.zero_grad()
    del out
    gc.collect()
    assert model.weight.grad is None and watcher() is None


def test_compile_refuses_a_step_that_calls_backward_with_create_graph():
    model = cr.nn.Linear(3, 1)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)

    def step(x):
        loss = model(x).pow(2).mean()
        loss.backward(create_graph=True)
        return loss

    compiled = cr.compile(step, optimizer=opt)
    with pytest.raises(cr.GraphError, match=r"create_graph=True\) inside a compiled function"):
        compiled(cr.ones(4, 3))
