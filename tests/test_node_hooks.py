"""Hooks on graph nodes (``grad_fn.register_hook`` / ``register_prehook``), against PyTorch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _t(lib, values, requires_grad=False):
    array = np.asarray(values, dtype=np.float64)
    if lib is torch:
        return torch.tensor(array, requires_grad=requires_grad)
    return cr.tensor(array, requires_grad=requires_grad, dtype=np.float64)


def _show(grads):
    return [None if g is None else g.detach().numpy().tolist() for g in grads]


def test_prehooks_and_hooks_see_and_replace_gradients_as_torch():
    def run(lib):
        log = []
        x = _t(lib, [1.0, 2.0, 3.0], True)
        w = _t(lib, [2.0])
        y = x * w
        y.register_hook(lambda g: log.append(("tensor", _show((g,)))) or g * 2)
        node = y.grad_fn
        node.register_prehook(lambda go: log.append(("pre", _show(go))))
        node.register_prehook(lambda go: (go[0] * 10,))
        node.register_hook(lambda gi, go: log.append(("post", _show(gi), _show(go))))
        node.register_hook(lambda gi, go: (gi[0] + 1, gi[1]))
        y.sum().backward()
        return log, x.grad.tolist()

    assert run(cr) == run(torch)


@pytest.mark.parametrize("create_graph", [False, True])
def test_hook_sees_gradients_in_the_inputs_shapes(create_graph):
    def run(lib):
        seen = []
        x = _t(lib, [[1.0, 2.0], [3.0, 4.0]], True)
        w = _t(lib, [0.5], True)
        z = x * w
        z.grad_fn.register_hook(lambda gi, go: seen.append(_show(gi)) or (gi[0], gi[1] * 2))
        grads = lib.autograd.grad((z * z).sum(), (x, w), create_graph=create_graph)
        return seen, _show(grads)

    assert run(cr) == run(torch)


@pytest.mark.parametrize("lib", [cr, torch])
def test_removed_hook_does_not_run(lib):
    calls = []
    x = _t(lib, [1.0, 2.0], True)
    z = x * x
    handle = z.grad_fn.register_hook(lambda gi, go: calls.append(1))
    handle.remove()
    z.sum().backward()
    assert calls == [] and x.grad.tolist() == [2.0, 4.0]


@pytest.mark.parametrize(
    "pre, hook, error",
    [
        (False, lambda gi, go: (gi[0], gi[0]), "replace a None gradient"),
        (True, lambda go: (go[0], go[0]), "incorrect number of values"),
        (False, lambda gi, go: 5, "expected tuple"),
    ],
)
def test_bad_hook_results_raise_as_torch(pre, hook, error):
    for lib in (cr, torch):
        x = _t(lib, [1.0, 2.0], True)
        z = x * _t(lib, [3.0])
        (z.grad_fn.register_prehook if pre else z.grad_fn.register_hook)(hook)
        with pytest.raises((RuntimeError, TypeError), match=error):
            z.sum().backward()


def test_hooks_under_create_graph_are_differentiated_again():
    def run(lib):
        x = _t(lib, [1.0, 2.0, 3.0], True)
        z = x * x
        z.grad_fn.register_hook(lambda gi, go: (gi[0] * 2, gi[1]))
        (g,) = lib.autograd.grad(z.sum(), x, create_graph=True)
        (g2,) = lib.autograd.grad((g * g).sum(), x)
        return g.tolist(), g2.tolist()

    assert run(cr) == run(torch)


def test_prehook_with_retain_graph_and_the_in_place_backward_route():
    # relu's backward may write over its incoming gradient (large arrays): hooked all the same
    def run(lib):
        x = _t(lib, np.linspace(-1, 1, 5000), True)
        z = x.relu()
        z.grad_fn.register_prehook(lambda go: (go[0] * 3,))
        (z * 2).sum().backward(retain_graph=True)
        first = x.grad.sum().item()
        (z * 2).sum().backward()
        return first, x.grad.sum().item()

    assert run(cr) == pytest.approx(run(torch))


def test_hooks_on_a_custom_function_with_several_outputs_are_refused():
    class Two(cr.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2, a * 3

        @staticmethod
        def backward(ctx, g1, g2):
            return g1 * 2 + g2 * 3

    first, _ = Two.apply(cr.tensor([1.0], requires_grad=True))
    with pytest.raises(cr.NotSupportedError, match="several outputs"):
        first.grad_fn.register_hook(lambda gi, go: None)
