"""Grad-mode switches as PyTorch's: set_grad_enabled acts when called, decorators (with or
without parentheses) cover generator functions step by step, inference_mode(False) is a
no-op, and every one restores the mode afterwards."""

import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _probe(lib):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    seen = []

    lib.set_grad_enabled(False)
    seen.append(("call False", lib.is_grad_enabled(), (x * 2).requires_grad))
    lib.set_grad_enabled(True)
    seen.append(("call True", lib.is_grad_enabled()))

    @lib.set_grad_enabled(False)
    def decorated():
        return (x * 2).requires_grad

    seen.append(("decorated", decorated(), lib.is_grad_enabled()))
    with lib.no_grad():
        lib.set_grad_enabled(True)
        seen.append(("inside no_grad", lib.is_grad_enabled()))
    seen.append(("after", lib.is_grad_enabled()))

    @lib.no_grad()
    def gen():
        yield (x * 2).requires_grad
        yield lib.is_grad_enabled()

    seen.append(("generator", list(gen()), lib.is_grad_enabled()))

    @lib.no_grad
    def bare():
        return (x * 2).requires_grad

    seen.append(("no parentheses", bare()))
    with lib.no_grad():

        @lib.enable_grad()
        def regen():
            yield (x * 2).requires_grad

        seen.append(("enable_grad generator", list(regen()), lib.is_grad_enabled()))
    with lib.inference_mode():
        seen.append(("inference_mode", (x * 2).requires_grad))
    with lib.inference_mode(False):
        seen.append(("inference_mode(False)", (x * 2).requires_grad))
    return seen


def test_grad_mode_switches_match_torch():
    assert _probe(cr) == _probe(torch)
    assert cr.is_grad_enabled()


def test_a_generator_that_raises_restores_the_mode():
    @cr.no_grad()
    def gen():
        yield 1
        raise KeyError("boom")

    it = gen()
    assert next(it) == 1 and cr.is_grad_enabled()
    with pytest.raises(KeyError):
        next(it)
    assert cr.is_grad_enabled()


@pytest.mark.parametrize("create_graph", [False, True])
def test_autograd_grad_answers_a_tensor_asked_for_twice_both_times(create_graph):
    answers = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        twice = lib.autograd.grad((x * x).sum(), [x, x], allow_unused=True)
        y = x * 3
        mixed = lib.autograd.grad((y * y).sum(), [y, x, y], create_graph=create_graph)
        answers.append([g.tolist() for g in (*twice, *mixed)])
    assert answers[0] == answers[1]


def test_tensor_hooks_run_under_create_graph_and_stay_differentiable():
    """Leaf and non-leaf hooks act on autograd.grad(..., create_graph=True) as on backward(),
    and the gradient they return is differentiated through (a gradient penalty)."""
    answers = []
    for lib in (cr, torch):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        x.register_hook(lambda g: g * 10)
        (leaf,) = lib.autograd.grad((x * x).sum(), x, create_graph=True)
        z = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = z * z
        y.register_hook(lambda g: g * 3)
        (inner,) = lib.autograd.grad((y * 2).sum(), z, create_graph=True)
        (penalty,) = lib.autograd.grad((inner * inner).sum(), z)
        answers.append([leaf.tolist(), inner.tolist(), penalty.tolist()])
    assert answers[0] == answers[1]


def test_a_view_of_the_same_shape_is_a_new_tensor_with_its_own_hooks():
    answers = []
    for lib in (cr, torch):
        x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
        y = x.view(2)
        y.register_hook(lambda g: g * 10)
        (x * x).sum().backward()
        views = (x.reshape(2), x.squeeze(), x.view_as(x), x.T if lib is cr else x.t())
        plain = lib.tensor([1.0, 2.0])
        same = plain.view(2)
        same.add_(1)
        answers.append(
            [y is x, y.is_leaf, x.grad.tolist(), [v is x or v.is_leaf for v in views]]
            + [same is plain, plain.tolist()]
        )
    assert answers[0] == answers[1]
