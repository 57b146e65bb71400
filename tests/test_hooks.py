"""Tensor hooks (register_hook, register_post_accumulate_grad_hook) against PyTorch."""

from __future__ import annotations

import gc

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd import hooks as autograd_hooks
from chainrule.errors import GraphError, ShapeError

torch = pytest.importorskip("torch")


def _pair(values, dtype=np.float64):
    array = np.asarray(values, dtype=dtype)
    return (
        cr.tensor(array.copy(), requires_grad=True),
        torch.tensor(array.copy(), requires_grad=True),
    )


def test_leaf_hook_sees_the_whole_gradient_once_and_replaces_it():
    w, tw = _pair([1.0, 2.0, -3.0])
    seen, tseen = [], []
    w.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 2)
    tw.register_hook(lambda g: tseen.append(g.numpy().copy()) or g * 2)
    ((w * w).sum() + (w * 3).sum()).backward()  # w reaches the loss along two paths
    ((tw * tw).sum() + (tw * 3).sum()).backward()
    assert len(seen) == len(tseen) == 1
    np.testing.assert_allclose(seen[0], tseen[0])
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_hook_on_an_op_output_runs_before_retain_grad_keeps_it():
    x, tx = _pair([1.0, -2.0, 0.5])
    z, tz = x * 3, tx * 3
    for t in (z, tz):
        t.register_hook(lambda g: g + 1)
        t.retain_grad()
    (z * z).sum().backward()
    (tz * tz).sum().backward()
    np.testing.assert_allclose(z.grad.numpy(), tz.grad.numpy())
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())


def test_several_hooks_run_in_order_and_remove_takes_one_away():
    w, tw = _pair([1.0, 2.0])
    order = []
    first = w.register_hook(lambda g: order.append("first") or g * 10)
    w.register_hook(lambda g: order.append("second") or g + 1)
    (w * w).sum().backward()
    assert order == ["first", "second"]
    np.testing.assert_allclose(w.grad.numpy(), (2 * np.array([1.0, 2.0])) * 10 + 1)
    first.remove()
    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.array([1.0, 2.0]) + 1)
    with w.register_hook(lambda g: g * 0):  # a handle is also a context manager; runs last
        w.grad = None
        (w * w).sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), [0.0, 0.0])
    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), 2 * np.array([1.0, 2.0]) + 1)


def test_post_accumulate_hook_runs_once_after_grad_is_accumulated():
    w, tw = _pair([0.5, -1.0])
    got, tgot = [], []
    w.register_post_accumulate_grad_hook(lambda p: got.append(p.grad.numpy().copy()))
    tw.register_post_accumulate_grad_hook(lambda p: tgot.append(p.grad.numpy().copy()))
    for _ in range(2):  # the second pass adds to .grad: the hook sees the sum
        ((w * w).sum() + w.sum()).backward()
        ((tw * tw).sum() + tw.sum()).backward()
    assert len(got) == len(tgot) == 2
    for a, b in zip(got, tgot):
        np.testing.assert_allclose(a, b)


def test_optimizer_in_backward_gives_the_weights_of_the_usual_loop():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 4))
    y = rng.standard_normal((32, 1))

    def make():
        cr.manual_seed(3)
        return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1)).double()

    usual, hooked = make(), make()
    opt = optim.SGD(usual.parameters(), lr=0.1, momentum=0.9)
    per_param = {p: optim.SGD([p], lr=0.1, momentum=0.9) for p in hooked.parameters()}

    def step_now(q):  # returns None: PyTorch raises for a post-accumulate hook that returns
        per_param[q].step()
        q.grad.zero_()

    for p in hooked.parameters():
        p.register_post_accumulate_grad_hook(step_now)
    loss_fn = nn.MSELoss()
    xb, yb = cr.tensor(X, dtype="float64"), cr.tensor(y, dtype="float64")
    for _ in range(5):
        opt.zero_grad()
        loss_fn(usual(xb), yb).backward()
        opt.step()
        loss_fn(hooked(xb), yb).backward()  # the hooks step each parameter inside backward
    for a, b in zip(usual.parameters(), hooked.parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)


def test_hooks_apply_to_autograd_grad_without_accumulating():
    w, tw = _pair([1.0, 3.0])
    post = []
    for t in (w, tw):
        t.register_hook(lambda g: g * -1)
        t.register_post_accumulate_grad_hook(lambda p: post.append(1))
    (g,) = cr.autograd.grad((w * w).sum(), [w])
    (tg,) = torch.autograd.grad((tw * tw).sum(), [tw])
    np.testing.assert_allclose(g.numpy(), tg.numpy())
    assert w.grad is None and tw.grad is None
    assert post == []  # nothing was accumulated, by either library


def test_a_leaf_that_is_the_root_runs_its_hooks():
    w, tw = _pair([2.0])
    for t in (w, tw):
        t.register_hook(lambda g: g * 5)
    w.backward()
    tw.backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


def test_a_branch_that_does_not_reach_the_loss_gives_no_hook_call():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    w.register_hook(lambda g: calls.append(g.numpy().copy()))
    unused = w * 7  # recorded, but never part of the loss
    (w * w).sum().backward()
    assert len(calls) == 1
    np.testing.assert_allclose(calls[0], [2.0, 4.0])
    del unused


def test_bad_hooks_and_targets_raise_clear_errors():
    plain = cr.tensor([1.0])
    with pytest.raises(GraphError, match="does not require grad"):
        plain.register_hook(lambda g: g)
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(GraphError, match="only be registered on leaves"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)
    with pytest.raises(TypeError, match="callable"):
        w.register_hook("not a function")
    w.register_hook(lambda g: cr.tensor([1.0, 2.0, 3.0]))
    with pytest.raises(ShapeError, match="same shape"):
        (w * w).sum().backward()


def test_hooks_are_forgotten_with_their_tensor():
    before = len(autograd_hooks.LEAF_HOOKS)
    w = cr.tensor([1.0], requires_grad=True)
    w.register_hook(lambda g: g)
    assert len(autograd_hooks.LEAF_HOOKS) == before + 1
    del w
    gc.collect()
    assert len(autograd_hooks.LEAF_HOOKS) == before


def test_compiled_steps_run_hooked_calls_eagerly():
    cr.manual_seed(0)
    model = nn.Linear(3, 1).double()
    x = np.random.default_rng(1).standard_normal((8, 3))
    step = cr.compile(lambda xb: model(xb).pow(2).mean(), backend="numpy")
    step(x)
    step(x)  # generated code from here on
    calls = []
    handle = model.weight.register_hook(lambda g: calls.append(1) or g * 0)
    model.weight.grad = None
    step(x)
    assert calls == [1]  # the hook ran: this call was eager
    np.testing.assert_array_equal(model.weight.grad.numpy(), 0.0)
    handle.remove()
    model.weight.grad = None
    step(x)
    assert calls == [1] and np.abs(model.weight.grad.numpy()).sum() > 0


def test_compile_refuses_a_hook_on_an_intermediate_tensor():
    model = nn.Linear(2, 1).double()

    def fn(xb):
        h = model(xb)
        h.register_hook(lambda g: g * 2)
        return h.sum()

    step = cr.compile(fn, backend="numpy")
    with pytest.raises(GraphError, match="runs no hooks|run no hooks"):
        step(np.ones((4, 2)))
