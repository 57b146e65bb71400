"""Module forward hooks against PyTorch: order, replacement of inputs and outputs, kwargs,
prepend, always_call, handles; the deprecated register_backward_hook raises NotSupportedError
(the full backward hooks: test_module_backward_hooks.py)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.array([[1.0, -2.0, 0.5]], np.float32)


def _value(out):
    return out.detach().numpy() if hasattr(out, "detach") else np.asarray(out)


def _both(build):
    """``build(lib, log)`` with chainrule and with torch: what each returns, and its log."""
    results = []
    for lib in (cr, torch):
        log = []
        results.append((build(lib, log), log))
    return results


def test_hooks_run_in_order_and_replace_inputs_and_outputs():
    def build(lib, log):
        layer = lib.nn.Linear(3, 2)
        with lib.no_grad():
            layer.weight.copy_(lib.tensor(np.arange(6, dtype=np.float32).reshape(2, 3)))
            layer.bias.fill_(1.0)
        layer.register_forward_pre_hook(lambda m, args: log.append("pre1"))
        layer.register_forward_pre_hook(lambda m, args: args[0] * 2)  # not a tuple: wrapped
        layer.register_forward_pre_hook(lambda m, args: log.append("pre0"), prepend=True)
        layer.register_forward_hook(lambda m, args, out: log.append(("post", _value(args[0]))))
        layer.register_forward_hook(lambda m, args, out: out + 1)
        layer.register_forward_hook(lambda m, args, out: log.append("post0"), prepend=True)
        out = layer(lib.tensor(X))
        return _value(out), _value(layer.forward(lib.tensor(X)))  # forward(): no hooks

    (ours, our_log), (theirs, their_log) = _both(build)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-6)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-6)
    assert [e if isinstance(e, str) else e[0] for e in our_log] == [
        e if isinstance(e, str) else e[0] for e in their_log
    ]
    np.testing.assert_array_equal(our_log[3][1], their_log[3][1])  # post hooks see new args


def test_hooks_with_kwargs():
    def build(lib, log):
        class Scale(lib.nn.Module):
            def forward(self, x, *, factor=1.0):
                return x * factor

        module = Scale()

        def pre(m, args, kwargs):
            log.append(sorted(kwargs))
            return (args[0] + 1,), {"factor": kwargs["factor"] * 10}

        def post(m, args, kwargs, out):
            log.append(kwargs["factor"])
            return out - 1

        module.register_forward_pre_hook(pre, with_kwargs=True)
        module.register_forward_hook(post, with_kwargs=True)
        return _value(module(lib.tensor(X), factor=0.5))

    (ours, our_log), (theirs, their_log) = _both(build)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    assert our_log == their_log == [["factor"], 5.0]


def test_a_kwargs_pre_hook_must_return_a_pair():
    def build(lib, log):
        layer = lib.nn.Identity()
        layer.register_forward_pre_hook(lambda m, a, k: a, with_kwargs=True)
        with pytest.raises(RuntimeError) as err:
            layer(lib.ones(2), lib.ones(2), lib.ones(2))  # 3 args: not a pair
        return str(err.value).split("but got")[0]

    (ours, _), (theirs, _) = _both(build)
    assert ours == theirs


def test_always_call_hooks_run_when_forward_raises():
    def build(lib, log):
        class Broken(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")

        module = Broken()
        module.register_forward_hook(lambda m, a, o: log.append(("always", o)), always_call=True)
        module.register_forward_hook(lambda m, a, o: log.append("normal"))
        with pytest.raises(ValueError, match="boom"):
            module(lib.ones(1))
        return None

    (_, our_log), (_, their_log) = _both(build)
    assert our_log == their_log == [("always", None)]


def test_handles_remove_hooks_and_work_as_context_managers():
    def build(lib, log):
        layer = lib.nn.Identity()
        handle = layer.register_forward_hook(lambda m, a, o: log.append("a"))
        with layer.register_forward_pre_hook(lambda m, a: log.append("b")):
            layer(lib.ones(1))
        layer(lib.ones(1))
        handle.remove()
        handle.remove()  # twice is harmless
        layer(lib.ones(1))
        return None

    (_, our_log), (_, their_log) = _both(build)
    assert our_log == their_log == ["b", "a", "a"]


def test_hooks_on_children_run_inside_a_sequential_and_see_gradients_flow():
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 1))
    seen = {}
    for name, module in model.named_children():
        module.register_forward_hook(lambda m, a, o, name=name: seen.update({name: o.shape}))
    model(cr.tensor(X)).sum().backward()
    assert seen == {"0": (1, 4), "1": (1, 4), "2": (1, 1)}
    assert model[0].weight.grad is not None


def test_hooks_are_copied_by_deepcopy_as_in_pytorch():
    import copy

    log = []
    layer = cr.nn.Identity()
    layer.register_forward_hook(lambda m, a, o: log.append(m))
    twin = copy.deepcopy(layer)
    twin(cr.ones(1))
    assert log == [twin]


def test_the_deprecated_backward_hook_is_not_supported_and_the_full_ones_exist():
    layer = cr.nn.Linear(2, 2)
    name = "register_backward_hook"
    assert hasattr(torch.nn.Linear(2, 2), name) and not hasattr(layer, name)
    with pytest.raises(
        cr.NotSupportedError, match=f"Module.{name} is not supported.*register_full_backward_hook"
    ):
        getattr(layer, name)(lambda *a: None)
    assert callable(layer.register_full_backward_hook)
    assert callable(layer.register_full_backward_pre_hook)


def test_a_non_callable_hook_is_refused():
    with pytest.raises(TypeError, match="callable"):
        cr.nn.Identity().register_forward_hook(3)
