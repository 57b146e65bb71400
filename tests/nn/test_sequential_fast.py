"""nn.Sequential's fast path (nn/sequential_fast.py, autograd/layer_chain.py): Linear layers and
activations run as one node give the very bits, gradients, errors and graph of the per-layer
path, which every test here runs beside it (``run`` patched to decline)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.autograd.layer_chain import LayerChain
from chainrule.errors import GraphError, ShapeError
from chainrule.nn import sequential_fast


def _model(activations=("tanh", "sigmoid"), dtype=cr.float64, bias=True, widths=(3, 5, 4, 2)):
    kinds = {
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "relu": nn.ReLU,
        "leaky": lambda: nn.LeakyReLU(0.2),
        "leaky_in_place": lambda: nn.LeakyReLU(0.05, inplace=True),
        "elu": lambda: nn.ELU(0.7),
        "gelu": nn.GELU,
        "gelu_tanh": lambda: nn.GELU("tanh"),
        "silu": nn.SiLU,
        "softplus": lambda: nn.Softplus(2.0, 3.0),
    }
    cr.manual_seed(7)
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(nn.Linear(a, b, bias=bias))
        if i < len(activations):
            layers.append(kinds[activations[i]]())
    return nn.Sequential(*layers).to(dtype)


@pytest.fixture
def per_layer(monkeypatch):
    """Call it to run the function with the fast path declined (the modules one by one)."""

    def run(fn):
        with monkeypatch.context() as m:
            m.setattr(sequential_fast, "run", lambda modules, x: None)
            return fn()

    return run


def _step(model, x, y, create_graph=False):
    model.zero_grad()
    if x.requires_grad:
        x.grad = None
    out = model(x)
    loss = ((out - y) ** 2).mean()
    loss.backward(create_graph=create_graph)
    grads = [None if p.grad is None else p.grad.detach().numpy().copy() for p in model.parameters()]
    x_grad = None if x.grad is None else x.grad.numpy().copy()
    return out.detach().numpy().copy(), loss.item(), grads, x_grad


def _same(a, b):
    out_a, loss_a, grads_a, x_a = a
    out_b, loss_b, grads_b, x_b = b
    np.testing.assert_array_equal(out_a, out_b)
    assert loss_a == loss_b
    assert len(grads_a) == len(grads_b)
    for ga, gb in zip(grads_a, grads_b):
        assert (ga is None) == (gb is None)
        if ga is not None:
            np.testing.assert_array_equal(ga, gb)
    assert (x_a is None) == (x_b is None)
    if x_a is not None:
        np.testing.assert_array_equal(x_a, x_b)


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
@pytest.mark.parametrize("rows", [None, 1, 7, 80])
@pytest.mark.parametrize(
    "activations",
    [
        ("tanh", "sigmoid"),
        ("relu", "relu"),
        ("sigmoid",),
        ("relu", "tanh", "relu"),
        ("leaky", "elu"),
        ("gelu", "gelu_tanh"),
        ("silu", "softplus"),
        ("leaky_in_place", "elu"),
    ],
)
@pytest.mark.parametrize("x_grad", [False, True])
def test_same_bits_as_the_per_layer_path(per_layer, dtype, rows, activations, x_grad):
    widths = (3, 5, 4, 2) if len(activations) < 3 else (3, 70, 6, 5, 2)
    model = _model(activations, dtype, widths=widths)
    rng = np.random.default_rng(0)
    shape = (widths[0],) if rows is None else (rows, widths[0])
    x = cr.tensor(rng.standard_normal(shape), dtype=dtype, requires_grad=x_grad)
    y = cr.tensor(rng.standard_normal(shape[:-1] + (widths[-1],)), dtype=dtype)
    fast = _step(model, x, y)
    assert type(model(x)._ctx) is LayerChain  # the fast path ran
    _same(fast, per_layer(lambda: _step(model, x, y)))


def test_large_layers_write_gradients_over_their_own(per_layer):
    # activations above the engine's reuse size take backward_in_place: same bits
    model = _model(("relu", "tanh"), cr.float32, widths=(30, 300, 40, 3))
    x = cr.randn(64, 30)
    y = cr.randn(64, 3)
    _same(_step(model, x, y), per_layer(lambda: _step(model, x, y)))


def test_no_bias_and_frozen_layers(per_layer):
    model = _model(bias=False)
    x, y = cr.randn(4, 3, dtype=cr.float64), cr.randn(4, 2, dtype=cr.float64)
    _same(_step(model, x, y), per_layer(lambda: _step(model, x, y)))
    model = _model()
    model[0].requires_grad_(False)
    _same(_step(model, x, y), per_layer(lambda: _step(model, x, y)))
    assert model[0].weight.grad is None and model[2].weight.grad is not None
    model[2].weight.requires_grad_(False)  # a frozen weight in the middle, its bias trained
    _same(_step(model, x, y), per_layer(lambda: _step(model, x, y)))


def test_grad_fn_shows_the_per_layer_graph():
    torch = pytest.importorskip("torch")
    model = _model(("tanh", "sigmoid"))
    twin = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 4), torch.nn.Sigmoid()
    )
    twin.append(torch.nn.Linear(4, 2))

    def names(fn, depth=0):
        if fn is None or depth > 8:
            return []
        return [fn.name()] + [n for nxt, _ in fn.next_functions for n in names(nxt, depth + 1)]

    out = model(cr.randn(4, 3, dtype=cr.float64))
    theirs = twin(torch.randn(4, 3))
    assert names(out.grad_fn) == names(theirs.grad_fn)
    assert type(out._ctx) is not LayerChain  # expanded once looked at
    # and the expanded graph still differentiates
    ((out - 1) ** 2).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_next_functions_of_a_consumer_expand_the_layers(per_layer):
    model = _model()
    x, y = cr.randn(4, 3, dtype=cr.float64), cr.randn(4, 2, dtype=cr.float64)
    loss = ((model(x) - y) ** 2).mean()
    node = loss.grad_fn
    while node.name() != "AddmmBackward0":
        node = next(fn for fn, _ in node.next_functions if fn is not None)
    assert node.name() == "AddmmBackward0"
    loss.backward()
    grads = [p.grad.numpy().copy() for p in model.parameters()]
    _same(
        (0, 0, grads, None),
        (0, 0, per_layer(lambda: _step(model, x, y))[2], None),
    )


def test_hooks_and_patched_forwards_run_the_modules():
    model = _model()
    seen = []
    handle = model[1].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    out = model(cr.randn(4, 3, dtype=cr.float64))
    assert seen == [(4, 5)] and type(out._ctx) is not LayerChain
    handle.remove()
    assert type(model(cr.randn(4, 3, dtype=cr.float64))._ctx) is LayerChain
    model[2].forward = lambda x: x[:, :4]  # patched on the instance: called
    assert model(cr.randn(4, 3, dtype=cr.float64)).shape == (4, 2)
    del model[2].forward


def test_other_modules_and_inputs_take_the_per_layer_path():
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(1.0), nn.Linear(4, 1))
    assert type(model(cr.randn(2, 3))._ctx) is not LayerChain  # p = 1: a product with zeros
    model = nn.Sequential(nn.Dropout(0.5, inplace=True), nn.Linear(3, 1))
    assert type(model(cr.randn(2, 3))._ctx) is not LayerChain  # would write over the input
    model = nn.Sequential(nn.Linear(3, 4), nn.AlphaDropout(0.5), nn.Linear(4, 1))
    assert type(model(cr.randn(2, 3))._ctx) is not LayerChain
    for first_in_place in (nn.ReLU(inplace=True), nn.SiLU(inplace=True)):
        model = nn.Sequential(first_in_place, nn.Linear(3, 1))
        assert type(model(cr.randn(2, 3))._ctx) is not LayerChain
    model = _model(dtype=cr.float32)
    with pytest.raises(ShapeError, match="in_features=3"):
        model(cr.randn(2, 4))  # the layer's own message
    with pytest.raises(cr.errors.DTypeError):
        model(cr.randn(2, 3, dtype=cr.float64))
    out = model(np.ones((2, 3)))  # arrays are converted by the layer, as before
    assert out.dtype == cr.float32 and out.requires_grad


def test_no_grad_and_requires_grad_flags():
    model = _model()
    with cr.no_grad():
        out = model(cr.randn(4, 3, dtype=cr.float64))
    assert not out.requires_grad and out.grad_fn is None
    model.requires_grad_(False)
    assert not model(cr.randn(4, 3, dtype=cr.float64)).requires_grad
    x = cr.randn(4, 3, dtype=cr.float64, requires_grad=True)
    out = model(x)
    out.sum().backward()
    assert x.grad is not None and model[0].weight.grad is None


def test_in_place_changes_are_refused_as_per_layer(per_layer):
    def weight_written():
        model = _model()
        loss = model(cr.randn(4, 3, dtype=cr.float64)).sum()
        with cr.no_grad():
            model[2].weight.mul_(2)
        loss.backward()

    def bias_written():  # nothing reads a bias backward: PyTorch lets this pass
        model = _model()
        loss = model(cr.randn(4, 3, dtype=cr.float64)).sum()
        with cr.no_grad():
            model[2].bias.add_(1)
        loss.backward()
        return model[2].bias.grad.numpy().copy()

    def stepped():
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)
        loss = model(cr.randn(4, 3, dtype=cr.float64)).sum()
        loss.backward(retain_graph=True)
        opt.step()
        loss.backward()

    for run in (weight_written, stepped):
        with pytest.raises(GraphError, match="in place"):
            run()
        with pytest.raises(GraphError, match="in place"):
            per_layer(run)
    np.testing.assert_array_equal(bias_written(), per_layer(bias_written))


def test_retain_graph_and_freed_graph():
    model = _model()
    x = cr.randn(4, 3, dtype=cr.float64)
    loss = model(x).sum()
    loss.backward(retain_graph=True)
    first = model[0].weight.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(model[0].weight.grad.numpy(), 2 * first, rtol=1e-15)
    with pytest.raises(GraphError):
        loss.backward()


@pytest.mark.parametrize("activations", [("tanh", "sigmoid"), ("softplus", "gelu")])
def test_second_derivatives_match_the_per_layer_path(per_layer, activations):
    model = _model(activations)
    x = cr.randn(4, 3, dtype=cr.float64, requires_grad=True)

    def gradient_penalty():
        out = model(x)
        (gx,) = cr.autograd.grad(out.sum(), [x], create_graph=True)
        model.zero_grad()
        (gx**2).sum().backward()
        return [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]

    fast, slow = gradient_penalty(), per_layer(gradient_penalty)
    assert [g is None for g in fast] == [g is None for g in slow]
    assert fast[0] is not None and fast[-1] is None  # the last bias does not move dout/dx
    for a, b in zip(fast, slow):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_output_hooks_and_retain_grad():
    model = _model()
    out = model(cr.randn(4, 3, dtype=cr.float64))
    out.retain_grad()
    seen = []
    out.register_hook(lambda g: seen.append(g.shape))
    (out * 3).sum().backward()
    assert seen == [(4, 2)]
    np.testing.assert_array_equal(out.grad.numpy(), np.full((4, 2), 3.0))


def test_identity_and_dropout_in_evaluation_are_skipped(per_layer):
    cr.manual_seed(2)
    model = nn.Sequential(
        nn.Identity(), nn.Linear(3, 6), nn.ReLU(), nn.Dropout(0.3), nn.Linear(6, 2)
    ).double()
    x, y = cr.randn(5, 3, dtype=cr.float64), cr.randn(5, 2, dtype=cr.float64)
    model.eval()
    assert type(model(x)._ctx) is LayerChain
    _same(_step(model, x, y), per_layer(lambda: _step(model, x, y)))
    model.train()  # dropout draws its mask in training: a step of the chain
    assert type(model(x)._ctx) is LayerChain
    model[3].p = 0.0  # p = 0 returns the input, in training too
    assert type(model(x)._ctx) is LayerChain
    only_identities = nn.Sequential(nn.Identity(), nn.Dropout(0.5).eval())
    assert only_identities(x) is x  # nothing to run: the input itself, as the modules give it


def test_trace_reads_the_layers_op_by_op(per_layer):
    model = _model(("tanh", "sigmoid"))
    x, y = cr.randn(3, 3, dtype=cr.float64), cr.randn(3, 2, dtype=cr.float64)

    def traced():
        loss = ((model(x) - y) ** 2).mean()
        return str(cr.trace(loss))

    fast = traced()
    assert "layers(" not in fast and "tanh(" in fast and "σ(" in fast
    assert fast == per_layer(traced)


def test_grad_fn_after_backward_is_the_per_layer_paths(per_layer):
    def after_backward(activations):
        model = _model(activations)
        out = model(cr.randn(4, 3, dtype=cr.float64))
        out.sum().backward()
        fn = out.grad_fn
        return fn.name(), fn.next_functions, repr(out).split("grad_fn=")[-1]

    for activations in (("tanh", "sigmoid"), ("tanh", "sigmoid", "relu")):
        fast = after_backward(activations)
        assert fast == per_layer(lambda a=activations: after_backward(a))
    assert fast[0] == "ReluBackward0"


def test_a_hooked_parameter_gets_its_gradient_in_the_per_layer_order(per_layer):
    def order():
        model = _model()
        seen = []
        for name, p in model.named_parameters():
            p.register_post_accumulate_grad_hook(lambda p, name=name: seen.append(name))
        out = model(cr.randn(4, 3, dtype=cr.float64))
        chained = type(out._ctx) is LayerChain
        out.sum().backward()
        return seen, chained

    fast, chained = order()
    assert not chained and fast == per_layer(order)[0]
    assert fast[:2] == ["4.bias", "4.weight"] or fast[:2] == ["4.weight", "4.bias"]
    other = _model()  # hooks elsewhere leave this model's fast path alone
    assert type(other(cr.randn(4, 3, dtype=cr.float64))._ctx) is LayerChain


def _dropout_model(dtype=cr.float64, inplace=False, generator=None):
    cr.manual_seed(5)
    return nn.Sequential(
        nn.Linear(3, 8), nn.ReLU(), nn.Dropout(0.4, inplace=inplace, generator=generator),
        nn.Linear(8, 6), nn.Tanh(), nn.Dropout(0.25), nn.Linear(6, 2),
    ).to(dtype)  # fmt: skip


@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
@pytest.mark.parametrize("inplace", [False, True])
@pytest.mark.parametrize("x_grad", [False, True])
def test_dropout_in_training_draws_the_same_masks_and_bits(per_layer, dtype, inplace, x_grad):
    model = _dropout_model(dtype, inplace)
    x = cr.randn(9, 3, dtype=dtype, requires_grad=x_grad)
    y = cr.randn(9, 2, dtype=dtype)

    def seeded_step():
        cr.manual_seed(11)  # the masks come from the global generator, in the layers' order
        return _step(model, x, y)

    assert type(model(x)._ctx) is LayerChain
    fast, slow = seeded_step(), per_layer(seeded_step)
    _same(fast, slow)
    # the masks really drop: some hidden units pass nothing back to their weights' rows
    assert (fast[2][0] == 0).all(axis=1).any() or (fast[2][2] == 0).all(axis=1).any()
    # and the next step draws new masks, as the modules do
    cr.manual_seed(11)
    first = model(x).detach().numpy().copy()
    second = model(x).detach().numpy()
    assert not np.array_equal(first, second)


def test_dropout_with_its_own_generator(per_layer):
    def outputs():
        model = _dropout_model(generator=cr.Generator().manual_seed(3))
        x = cr.randn(6, 3, dtype=cr.float64)
        return [model(x).detach().numpy().copy() for _ in range(3)]

    for a, b in zip(outputs(), per_layer(outputs)):
        np.testing.assert_array_equal(a, b)


def test_dropout_graph_names_and_second_derivatives(per_layer):
    torch = pytest.importorskip("torch")
    model = _dropout_model()
    twin = torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Dropout(0.4),
        torch.nn.Linear(8, 6), torch.nn.Tanh(), torch.nn.Dropout(0.25), torch.nn.Linear(6, 2),
    )  # fmt: skip

    def names(fn, depth=0):
        if fn is None or depth > 12:
            return []
        return [fn.name()] + [n for nxt, _ in fn.next_functions for n in names(nxt, depth + 1)]

    out = model(cr.randn(4, 3, dtype=cr.float64))
    assert names(out.grad_fn) == names(twin(torch.randn(4, 3)).grad_fn)

    x = cr.randn(4, 3, dtype=cr.float64, requires_grad=True)

    def gradient_penalty():
        cr.manual_seed(4)
        (gx,) = cr.autograd.grad(model(x).sum(), [x], create_graph=True)
        model.zero_grad()
        (gx**2).sum().backward()
        return [None if p.grad is None else p.grad.numpy().copy() for p in model.parameters()]

    fast, slow = gradient_penalty(), per_layer(gradient_penalty)
    assert [g is None for g in fast] == [g is None for g in slow]
    for a, b in zip(fast, slow):
        if a is not None:
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["weight", "bias"])
def test_a_weight_set_as_a_plain_tensor_is_read_by_the_layer(per_layer, name):
    """Weight drop (AWD-LSTM's trick): the parameter leaves ``_parameters`` and a plain tensor
    made from it takes its attribute; the layer's forward reads the attribute."""
    model = _model(("relu", "tanh"))
    raw = model[2]._parameters.pop(name)
    x, y = cr.randn(4, 3, dtype=cr.float64), cr.randn(4, 2, dtype=cr.float64)

    def dropped_step():  # the plain tensor made anew before each forward, as weight drop does
        setattr(model[2], name, raw * 2.0)
        raw.grad = None
        return (*_step(model, x, y), raw.grad.numpy().copy())

    setattr(model[2], name, raw * 2.0)
    assert type(model(x)._ctx) is not LayerChain
    fast, slow = dropped_step(), per_layer(dropped_step)
    _same(fast[:4], slow[:4])
    np.testing.assert_array_equal(fast[4], slow[4])  # through the plain tensor, as PyTorch's
