"""Module backward hooks (register_full_backward_hook, register_full_backward_pre_hook)
against PyTorch 2.13: the same modules, hooks and losses in both libraries, and the hooks'
arguments, their order, the replaced gradients and the errors compared."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

X = np.array([[1.0, -2.0, 0.5], [0.5, 1.5, -1.0]], np.float32)


def _value(t):
    if t is None:
        return None
    return t.detach().numpy().copy() if hasattr(t, "detach") else np.array(t)


def _values(grads):
    return [_value(g) for g in grads]


def _grad(t):
    return None if t.grad is None else _value(t.grad)


def _linear(lib, n_in=3, n_out=2, shift=0.0):
    layer = lib.nn.Linear(n_in, n_out)
    with lib.no_grad():
        w = np.linspace(-1.0, 1.0, n_in * n_out, dtype=np.float32).reshape(n_out, n_in) + shift
        layer.weight.copy_(lib.tensor(w))
        layer.bias.fill_(0.25)
    return layer


def _recorder(log, tag):
    """A full hook and a pre-hook that write what they see to ``log``."""

    def full(module, grad_input, grad_output):
        log.append((tag, "full", _values(grad_input), _values(grad_output)))

    def pre(module, grad_output):
        log.append((tag, "pre", _values(grad_output)))

    return full, pre


def _same(a, b):
    """Nested lists/tuples of arrays, numbers, strings and None: equal up to float rounding."""
    if isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (a, b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), (a, b)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    else:
        assert a == b


def _both(scenario):
    """``scenario(lib, log)`` with chainrule and with torch; assert both agree, warnings
    included (their messages' first words), and return chainrule's (result, log)."""
    runs = []
    for lib in (cr, torch):
        log = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = scenario(lib, log)
        said = sorted({str(w.message)[:40] for w in caught if "backward hook" in str(w.message)})
        runs.append((result, log, said))
    _same(runs[0], runs[1])
    return runs[0][:2]


# ---- what the hooks see ------------------------------------------------------------------------
@pytest.mark.parametrize("input_grad", [True, False])
def test_linear_hooks_see_the_gradients_of_input_and_output(input_grad):
    def scenario(lib, log):
        layer = _linear(lib)
        full, pre = _recorder(log, "linear")
        layer.register_full_backward_hook(full)
        layer.register_full_backward_pre_hook(pre)
        x = lib.tensor(X, requires_grad=input_grad)
        (layer(x) * lib.tensor([1.0, -3.0])).sum().backward()
        return _grad(layer.weight), _grad(layer.bias), _grad(x)

    _, log = _both(scenario)
    assert [entry[1] for entry in log] == ["pre", "full"]
    assert (log[1][2][0] is None) is not input_grad  # no input grad: the hook sees None


@pytest.mark.parametrize("input_grad", [True, False])
def test_a_sequential_and_its_children_fire_from_the_last_layer_to_the_first(input_grad):
    def scenario(lib, log):
        model = lib.nn.Sequential(_linear(lib, 3, 4), lib.nn.Tanh(), _linear(lib, 4, 1, 0.1))
        for name, module in [("seq", model), *model.named_children()]:
            full, pre = _recorder(log, name)
            module.register_full_backward_hook(full)
            module.register_full_backward_pre_hook(pre)
        model(lib.tensor(X, requires_grad=input_grad)).pow(2).sum().backward()
        return _grad(model[0].weight), _grad(model[2].weight)

    _, log = _both(scenario)
    order = [f"{tag}.{kind}" for tag, kind, *_ in log]
    if input_grad:
        assert order == [
            "seq.pre", "2.pre", "2.full", "1.pre", "1.full", "0.pre", "0.full", "seq.full"
        ]  # fmt: skip
    else:  # the inputs need no gradient: the outer hooks fire as soon as the outputs' do
        assert order[:2] == ["seq.pre", "seq.full"] and order[-1] == "0.full"


class _TwoInputs:
    @staticmethod
    def make(lib):
        class TwoInputs(lib.nn.Module):
            def forward(self, a, b, scale=1.0):
                return a * b * scale + a

        return TwoInputs()


@pytest.mark.parametrize("needs", [(True, True), (True, False), (False, True)])
def test_two_inputs_line_up_with_the_positional_arguments(needs):
    def scenario(lib, log):
        module = _TwoInputs.make(lib)
        full, pre = _recorder(log, "two")
        module.register_full_backward_hook(full)
        module.register_full_backward_pre_hook(pre)
        a = lib.tensor([1.0, -2.0, 3.0], requires_grad=needs[0])
        b = lib.tensor([0.5, 4.0, -1.0], requires_grad=needs[1])
        module(a, b).sum().backward()
        return _grad(a), _grad(b)

    _, log = _both(scenario)
    grad_input = log[-1][2]
    assert all(g is not None for g in grad_input)  # one that needs none: zeros, as PyTorch's


def test_non_tensor_arguments_get_none_and_keyword_tensors_are_left_out():
    def scenario(lib, log):
        module = _TwoInputs.make(lib)
        module.register_full_backward_hook(_recorder(log, "two")[0])
        a = lib.tensor([1.0, -2.0], requires_grad=True)
        scale = lib.tensor(3.0, requires_grad=True)
        module(a, 2.0).sum().backward()
        module(a, lib.tensor([1.0, 1.0]), scale=scale).sum().backward()
        return _grad(a), _grad(scale)

    _, log = _both(scenario)
    assert log[0][2][1] is None and len(log[1][2]) == 2


def test_an_input_the_forward_does_not_use_gets_zeros():
    def scenario(lib, log):
        class Unused(lib.nn.Module):
            def forward(self, a, b):
                return a * 2

        module = Unused()
        module.register_full_backward_hook(_recorder(log, "unused")[0])
        a, b = (lib.tensor([1.0, 2.0], requires_grad=True) for _ in range(2))
        module(a, b).sum().backward()
        return _grad(a), _grad(b)

    (grad_a, grad_b), _ = _both(scenario)
    assert grad_b.tolist() == [0.0, 0.0]


def _two_outputs(lib):
    class TwoOutputs(lib.nn.Module):
        def forward(self, a):
            return a * 2, a * a, 7

    return TwoOutputs()


@pytest.mark.parametrize("use", ["both", "first", "second", "twice"])
def test_two_outputs_one_call_with_every_gradient(use):
    def scenario(lib, log):
        module = _two_outputs(lib)
        full, pre = _recorder(log, "two")
        module.register_full_backward_hook(full)
        module.register_full_backward_pre_hook(pre)
        a = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
        u, v, _ = module(a)
        loss = {
            "both": lambda: u.sum() + (v * 3).sum(),
            "first": lambda: u.sum(),
            "second": lambda: v.sum(),
            "twice": lambda: u.sum() + u.sum() * 2 + v.sum(),
        }[use]()
        loss.backward()
        return _grad(a)

    _, log = _both(scenario)
    assert [entry[1] for entry in log] == ["pre", "full"]  # once each, however used
    assert log[0][2][2] is None  # the output that is not a tensor


def test_the_hooks_fire_once_per_call_of_the_module():
    def scenario(lib, log):
        layer = _linear(lib, 3, 3)
        layer.register_full_backward_hook(_recorder(log, "layer")[0])
        x = lib.tensor(X, requires_grad=True)
        layer(layer(x)).sum().backward()
        return _grad(x)

    _, log = _both(scenario)
    assert len(log) == 2


def test_identity_retain_graph_and_autograd_grad():
    def scenario(lib, log):
        module = lib.nn.Identity()
        module.register_full_backward_hook(_recorder(log, "id")[0])
        x = lib.tensor(X, requires_grad=True)
        y = module(x)
        (y * 2).sum().backward(retain_graph=True)
        (y * 3).sum().backward()
        (g,) = lib.autograd.grad(module(x).pow(2).sum(), x)
        return _grad(x), _value(g)

    _, log = _both(scenario)
    assert len(log) == 3


def test_second_derivatives_go_through_the_hooks():
    def scenario(lib, log):
        module = _TwoInputs.make(lib)
        module.register_full_backward_hook(lambda m, gi, go: (gi[0] * 3, gi[1]))
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, -1.0], requires_grad=True)
        (g,) = lib.autograd.grad(module(a, b).pow(2).sum(), a, create_graph=True)
        (gg,) = lib.autograd.grad(g.sum(), a)
        return _value(g), _value(gg)

    _both(scenario)


def test_no_hook_fires_without_grad_mode_or_when_the_output_needs_no_gradient():
    def scenario(lib, log):
        layer = _linear(lib)
        layer.register_full_backward_hook(_recorder(log, "a")[0])
        with lib.no_grad():
            out = layer(lib.tensor(X, requires_grad=True))
        identity = lib.nn.Identity()
        identity.register_full_backward_hook(_recorder(log, "b")[0])
        w = lib.tensor([1.0], requires_grad=True)
        (identity(lib.tensor([2.0])) * w).sum().backward()
        return out.requires_grad, _grad(w)

    _, log = _both(scenario)
    assert log == []


def test_an_output_that_is_not_a_tensor_or_tuple_warns_and_no_hook_fires():
    def scenario(lib, log):
        class ListOut(lib.nn.Module):
            def forward(self, a):
                return [a * 2]

        module = ListOut()
        module.register_full_backward_hook(_recorder(log, "list")[0])
        a = lib.tensor([1.0], requires_grad=True)
        module(a)[0].sum().backward()
        return _grad(a)

    _, log = _both(scenario)
    assert log == []


# ---- replacing gradients -----------------------------------------------------------------------
def test_a_returned_tuple_replaces_the_gradients_of_the_inputs():
    def scenario(lib, log):
        module = _TwoInputs.make(lib)
        module.register_full_backward_hook(lambda m, gi, go: (gi[0] * 2, lib.ones(2) * 9))
        module.register_full_backward_hook(lambda m, gi, go: log.append(_values(gi)))
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0], requires_grad=True)
        out = module(a, b)
        (out * out).sum().backward()
        return _grad(a), _grad(b)

    (grad_a, grad_b), log = _both(scenario)
    assert grad_b.tolist() == [9.0, 9.0] and log[0][1].tolist() == [9.0, 9.0]


def test_returned_none_lists_and_values_for_inputs_that_need_no_gradient():
    def scenario(lib, log):
        module = _TwoInputs.make(lib)
        module.register_full_backward_hook(lambda m, gi, go: [None, lib.ones(2)])  # a list
        a = lib.tensor([1.0, 2.0], requires_grad=True)
        b = lib.tensor([3.0, 4.0])
        module(a, b).sum().backward()
        other = lib.nn.Identity()
        other.register_full_backward_hook(lambda m, gi, go: [gi[0] * 5])
        c = lib.tensor([1.0], requires_grad=True)
        other(c).sum().backward()
        return _grad(a), _grad(b), _grad(c)

    (grad_a, grad_b, grad_c), _ = _both(scenario)
    assert grad_a is None and grad_b is None and grad_c.tolist() == [5.0]


def test_a_pre_hook_replaces_the_gradients_of_the_outputs():
    def scenario(lib, log):
        module = _two_outputs(lib)
        module.register_full_backward_pre_hook(lambda m, go: (go[0] * 10, None, None))
        module.register_full_backward_pre_hook(lambda m, go: log.append(("pre", _values(go))))
        module.register_full_backward_hook(lambda m, gi, go: log.append(("full", _values(go))))
        layer = _linear(lib, 3, 3)
        layer.register_full_backward_pre_hook(lambda m, go: (go[0] + 1,))
        a = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
        u, v, _ = module(layer(a))
        (u.sum() + v.sum()).backward()
        return _grad(a), _grad(layer.weight)

    _both(scenario)


def test_hooks_on_a_module_with_forward_hooks_see_the_replaced_output():
    def scenario(lib, log):
        layer = _linear(lib)
        layer.register_forward_hook(lambda m, args, out: out * 3)
        layer.register_full_backward_hook(_recorder(log, "l")[0])
        x = lib.tensor(X, requires_grad=True)
        layer(x).pow(2).sum().backward()
        return _grad(x), _grad(layer.weight)

    _both(scenario)


# ---- handles and order -------------------------------------------------------------------------
def test_prepend_runs_a_hook_first():
    def scenario(lib, log):
        layer = _linear(lib)
        for i, prepend in [(1, False), (2, True), (3, False), (4, True)]:
            layer.register_full_backward_hook(
                lambda m, gi, go, i=i: log.append(("full", i)), prepend=prepend
            )
            layer.register_full_backward_pre_hook(
                lambda m, go, i=i: log.append(("pre", i)), prepend=prepend
            )
        layer(lib.tensor(X, requires_grad=True)).sum().backward()

    _, log = _both(scenario)
    assert log == [("pre", i) for i in (4, 2, 1, 3)] + [("full", i) for i in (4, 2, 1, 3)]


def test_remove_and_the_hooks_taken_at_call_time():
    def scenario(lib, log):
        layer = _linear(lib)
        x = lib.tensor(X, requires_grad=True)
        gone = layer.register_full_backward_hook(lambda m, gi, go: log.append("gone"))
        gone.remove()
        layer(x).sum().backward()
        late = layer.register_full_backward_pre_hook(lambda m, go: log.append("late"))
        out = layer(x)
        late.remove()  # the call already took it: it still fires for this call
        layer.register_full_backward_hook(lambda m, gi, go: log.append("new"))  # not for it
        out.sum().backward()
        with layer.register_full_backward_hook(lambda m, gi, go: log.append("with")):
            layer(x).sum().backward()
        layer(x).sum().backward()

    _, log = _both(scenario)
    assert log == ["late", "new", "with", "new"]


# ---- errors ------------------------------------------------------------------------------------
def _error(lib, register, hook, x_grad=True):
    """The message of the RuntimeError that ``hook`` causes in ``layer(a, b)``'s backward, with
    a weight so that the output needs a gradient even when the inputs do not."""

    class Weighted(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = lib.nn.Parameter(lib.tensor([2.0, -1.0, 0.5]))

        def forward(self, a, b):
            return a * self.w + b

    layer = Weighted()
    getattr(layer, f"register_full_backward_{register}")(hook)
    a = lib.tensor([1.0, 2.0, 3.0], requires_grad=x_grad)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError) as info:
            layer(a, lib.tensor([3.0, 4.0, 5.0])).sum().backward()
    return str(info.value)


@pytest.mark.parametrize(
    "register, make_hook, x_grad",
    [
        ("hook", lambda lib: lambda m, gi, go: (gi[0],), True),
        ("hook", lambda lib: lambda m, gi, go: gi[0], True),  # a tensor: its len, 3
        ("pre_hook", lambda lib: lambda m, go: (go[0], go[0]), True),
        ("hook", lambda lib: lambda m, gi, go: (None, lib.ones(3)), False),
    ],
    ids=["short tuple", "tensor", "pre-hook, long tuple", "no input grad, not None"],
)
def test_the_errors_are_pytorchs(register, make_hook, x_grad):
    ours = _error(cr, register, make_hook(cr), x_grad)
    assert ours == _error(torch, register, make_hook(torch), x_grad)
    assert "Backward" in ours


def test_a_gradient_of_the_wrong_shape_is_refused():
    layer = cr.nn.Linear(3, 2)
    layer.register_full_backward_hook(lambda m, gi, go: (cr.ones(5),))
    with pytest.raises(cr.ShapeError, match=r"module's input.*\(5,\).*\(2, 3\)"):
        layer(cr.tensor(X, requires_grad=True)).sum().backward()
    layer = cr.nn.Linear(3, 2)
    layer.register_full_backward_pre_hook(lambda m, go: (cr.ones(5),))
    with pytest.raises(cr.ShapeError, match=r"module's output.*\(5,\).*\(2, 2\)"):
        layer(cr.tensor(X, requires_grad=True)).sum().backward()


def test_a_non_callable_hook_is_refused():
    with pytest.raises(TypeError, match="callable"):
        cr.nn.Identity().register_full_backward_hook(3)
    with pytest.raises(TypeError, match="callable"):
        cr.nn.Identity().register_full_backward_pre_hook("no")


def test_the_deprecated_register_backward_hook_names_the_full_one():
    layer = cr.nn.Linear(2, 2)
    assert not hasattr(layer, "register_backward_hook")
    with pytest.raises(cr.NotSupportedError, match="register_full_backward_hook"):
        layer.register_backward_hook(lambda *a: None)


# ---- cost --------------------------------------------------------------------------------------
def test_a_module_without_hooks_keeps_the_fast_path_and_grads_unchanged():
    plain, hooked = cr.nn.Linear(3, 2), cr.nn.Linear(3, 2)
    hooked.load_state_dict(plain.state_dict())
    hooked.register_full_backward_hook(lambda m, gi, go: None)
    assert "_module_hooks" not in plain.__dict__
    grads = []
    for layer in (plain, hooked):
        x = cr.tensor(X, requires_grad=True)
        layer(x).pow(2).sum().backward()
        grads.append((x.grad.numpy(), layer.weight.grad.numpy()))
    _same(grads[0], grads[1])


def test_cr_compile_refuses_a_module_with_backward_hooks_and_fit_auto_runs_it_eagerly():
    model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(), cr.nn.Linear(3, 1))
    fired = []
    model[0].register_full_backward_hook(lambda m, gi, go: fired.append(1))
    loss_fn = cr.nn.MSELoss()
    step = cr.compile(lambda x, y: loss_fn(model(x), y), backend="numpy")
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    with pytest.raises(cr.GraphError, match="module with backward hooks"):
        step(x, y)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(cr.GraphError, match="module with backward hooks"):
        cr.fit(model, (x, y), loss_fn, opt, epochs=2, batch_size=4, compile=True)
    fired.clear()
    history = cr.fit(model, (x, y), loss_fn, opt, epochs=2, batch_size=4, compile="auto")
    assert len(fired) == 2 and len(history.history["loss"]) == 2
