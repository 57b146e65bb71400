"""The one-op recurrent steps and layers (ops/recurrent_cells.py, ops/recurrent_layers.py)
against the op-by-op definition (``op_by_op()``, what cr.explain runs) and against PyTorch:
outputs, every gradient, second derivatives, grad_fn names, overflow and NaN."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.recurrent_cells import op_by_op

torch = pytest.importorskip("torch")

F64 = "float64"


def _run(model, x, hx, weights):
    """Output, final states and every gradient (x, hx, parameters) of Σ weights·outputs."""
    for p in model.parameters():
        p.grad = None
    x = cr.tensor(x, dtype=F64, requires_grad=True)
    hx = None if hx is None else cr.tensor(hx, dtype=F64, requires_grad=True)
    state = hx if hx is None or not isinstance(model, (nn.LSTM, nn.LSTMCell)) else (hx, hx * 0.5)
    out = model(x, state)
    outs = list(out) if isinstance(out, tuple) else [out]
    flat = []
    for o in outs:
        flat += list(o) if isinstance(o, tuple) else [o]
    loss = sum((o * cr.tensor(w, dtype=F64)).sum() for o, w in zip(flat, weights))
    loss.backward()
    grads = [x.grad.numpy()] + ([] if hx is None else [hx.grad.numpy()])
    grads += [p.grad.numpy() for p in model.parameters()]
    return [o.detach().numpy() for o in flat], grads


def _weights(model, x, hx, seed=3):
    rng = np.random.default_rng(seed)
    with cr.no_grad():
        out = model(cr.tensor(x, dtype=F64), None if hx is None else _state(model, hx))
    outs = list(out) if isinstance(out, tuple) else [out]
    flat = []
    for o in outs:
        flat += list(o) if isinstance(o, tuple) else [o]
    return [rng.standard_normal(o.shape) for o in flat]


def _state(model, hx):
    h = cr.tensor(hx, dtype=F64)
    return (h, h * 0.5) if isinstance(model, (nn.LSTM, nn.LSTMCell)) else h


LAYERS = [
    ("RNN", {}),
    ("RNN", {"nonlinearity": "relu", "num_layers": 2}),
    ("LSTM", {}),
    ("LSTM", {"num_layers": 2, "bidirectional": True}),
    ("LSTM", {"bias": False, "batch_first": True}),
    ("GRU", {"bidirectional": True, "batch_first": True}),
    ("GRU", {"num_layers": 2, "bias": False}),
]


@pytest.mark.parametrize("with_state", [False, True])
@pytest.mark.parametrize("kind, kwargs", LAYERS)
def test_a_layer_as_one_op_equals_its_op_by_op_steps(kind, kwargs, with_state):
    cr.manual_seed(0)
    model = getattr(nn, kind)(3, 4, dtype=F64, **kwargs)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 3) if kwargs.get("batch_first") else (5, 2, 3))
    layers = kwargs.get("num_layers", 1) * (2 if kwargs.get("bidirectional") else 1)
    hx = rng.standard_normal((layers, 2, 4)) if with_state else None
    weights = _weights(model, x, hx)
    fused = _run(model, x, hx, weights)
    with op_by_op():
        stepped = _run(model, x, hx, weights)
    for a, b in zip(fused[0] + fused[1], stepped[0] + stepped[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_training_records_one_op_per_layer_and_direction():
    cr.manual_seed(0)
    model = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    out, (h, c) = model(cr.randn(30, 2, 3))
    kinds = set()
    seen, stack = set(), [out.grad_fn, h.grad_fn, c.grad_fn]
    while stack:  # every op in the graph
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        kinds.add(type(fn).__name__)
        stack.extend(parent._ctx for parent in fn.parents)
    layer_ops = [k for k in kinds if k == "LSTMLayer"]
    assert layer_ops  # the layer op ran, not 30 steps of gates
    assert len(seen) < 30, sorted(kinds)  # not ~15 ops per step of 30 steps
    with op_by_op():
        out2, _ = model(cr.randn(30, 2, 3))
    assert type(out2.grad_fn).__name__ != "LSTMLayer"


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_layer_matches_torch_outputs_and_gradients(kind, dtype):
    cr.manual_seed(2)
    model = getattr(nn, kind)(3, 6, num_layers=2, bidirectional=True, dtype=dtype)
    ref = getattr(torch.nn, kind)(3, 6, num_layers=2, bidirectional=True).to(getattr(torch, dtype))
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    x = np.random.default_rng(4).standard_normal((7, 3, 3)).astype(dtype)
    mine = cr.tensor(x, dtype=dtype, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, _ = model(mine)
    out_t, _ = ref(theirs)
    w = np.random.default_rng(5).standard_normal(out_t.shape).astype(dtype)
    (out * cr.tensor(w, dtype=dtype)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    tol = 1e-11 if dtype == F64 else 3e-5
    np.testing.assert_allclose(out.detach().numpy(), out_t.detach().numpy(), atol=tol)
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), atol=tol)
    grads = dict(model.named_parameters())
    for name, p in ref.named_parameters():
        np.testing.assert_allclose(grads[name].grad.numpy(), p.grad.numpy(), atol=tol * 10)


CELLS = [("RNNCell", {}), ("RNNCell", {"nonlinearity": "relu"}), ("LSTMCell", {}), ("GRUCell", {})]


@pytest.mark.parametrize("kind, kwargs", CELLS)
@pytest.mark.parametrize("bias", [True, False])
def test_a_cell_step_as_one_op_matches_op_by_op_and_torch(kind, kwargs, bias):
    cr.manual_seed(3)
    cell = getattr(nn, kind)(3, 4, bias=bias, dtype=F64, **kwargs)
    ref = getattr(torch.nn, kind)(3, 4, bias=bias, **kwargs).double()
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in cell.state_dict().items()})
    rng = np.random.default_rng(6)
    x, hx = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    weights = _weights(cell, x, hx)
    fused = _run(cell, x, hx, weights)
    with op_by_op():
        stepped = _run(cell, x, hx, weights)
    for a, b in zip(fused[0] + fused[1], stepped[0] + stepped[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    xt = torch.tensor(x, requires_grad=True)
    ht = torch.tensor(hx, requires_grad=True)
    out = ref(xt, (ht, ht * 0.5) if kind == "LSTMCell" else ht)
    outs = list(out) if isinstance(out, tuple) else [out]
    sum((o * torch.tensor(w)).sum() for o, w in zip(outs, weights)).backward()
    for a, b in zip(fused[0], outs):
        np.testing.assert_allclose(a, b.detach().numpy(), atol=1e-12)
    theirs = [xt.grad.numpy(), ht.grad.numpy()] + [p.grad.numpy() for p in ref.parameters()]
    for a, b in zip(fused[1], theirs):
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_cell_outputs_carry_torchs_grad_fn_names():
    x = cr.randn(2, 3, requires_grad=True)
    h, c = nn.LSTMCell(3, 4)(x)
    assert (h.grad_fn.name(), c.grad_fn.name()) == ("MulBackward0", "AddBackward0")
    assert nn.GRUCell(3, 4)(x).grad_fn.name() == "AddBackward0"
    assert nn.RNNCell(3, 4)(x).grad_fn.name() == "TanhBackward0"
    assert nn.RNNCell(3, 4, nonlinearity="relu")(x).grad_fn.name() == "ReluBackward0"


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "LSTMCell", "GRUCell", "RNNCell"])
def test_second_derivatives_through_the_one_op_forms_match_torch(kind):
    cr.manual_seed(4)
    model = getattr(nn, kind)(2, 3, dtype=F64)
    ref = getattr(torch.nn, kind)(2, 3).double()
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    shape = (3, 2) if kind.endswith("Cell") else (4, 3, 2)
    x = np.random.default_rng(7).standard_normal(shape)
    v = np.random.default_rng(8).standard_normal(shape)

    def hvp(lib, module, array):
        t = lib.tensor(array, requires_grad=True)
        if lib is cr:
            t = cr.tensor(array, dtype=F64, requires_grad=True)
        out = module(t)
        first = out[0] if isinstance(out, tuple) else out
        loss = (first * first).sum()
        (g,) = lib.autograd.grad(loss, t, create_graph=True)
        direction = cr.tensor(v, dtype=F64) if lib is cr else torch.tensor(v)
        (h,) = lib.autograd.grad((g * direction).sum(), t)
        return h.detach().numpy()

    np.testing.assert_allclose(hvp(cr, model, x), hvp(torch, ref, x), atol=1e-10)


def test_large_inputs_saturate_without_warnings_and_nan_propagates():
    cr.manual_seed(5)
    model = nn.LSTM(2, 3, dtype=F64)
    ref = torch.nn.LSTM(2, 3).double()
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    x = np.array([[[1e4, -1e4]], [[-800.0, 900.0]]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning from e^(−z)
        out, _ = model(cr.tensor(x, dtype=F64))
    expected = ref(torch.tensor(x))[0].detach().numpy()
    np.testing.assert_allclose(out.detach().numpy(), expected, atol=1e-12)
    x[1, 0, 0] = np.nan
    out = model(cr.tensor(x, dtype=F64))[0].detach().numpy()
    assert np.isnan(out[1]).all() and not np.isnan(out[0]).any()


def _params_hvp(lib, module, x, state):
    """Hessian-vector product of Σ output² w.r.t. the parameters (and the leaf ``state``)."""
    params = list(module.parameters())
    t = lib.tensor(x, dtype=F64) if lib is cr else torch.tensor(x)
    h = (
        cr.tensor(state, dtype=F64, requires_grad=True)
        if lib is cr
        else torch.tensor(state, requires_grad=True)
    )
    if isinstance(module, (nn.LSTMCell, torch.nn.LSTMCell)):
        out = module(t, (h, h * 2.0))[1]  # c_0 made from h_0: two inputs with a shared past
    elif isinstance(module, (nn.RNNCell, torch.nn.RNNCell)):
        out = module(h, h)  # one tensor as both the input and the state
    else:
        out = module(t)[0]  # proj_size: each step's h and c come out of one cell op
    wrt = params + ([h] if isinstance(module, (nn.RNNCellBase, torch.nn.RNNCellBase)) else [])
    grads = lib.autograd.grad((out * out).sum(), wrt, create_graph=True)
    rng = np.random.default_rng(9)
    as_tensor = torch.tensor if lib is torch else (lambda a: cr.tensor(a, dtype=F64))
    total = sum((g * as_tensor(rng.standard_normal(g.shape))).sum() for g in grads)
    return [g.detach().numpy() for g in lib.autograd.grad(total, wrt)]


@pytest.mark.parametrize(
    "kind, kwargs",
    [("LSTMCell", {}), ("RNNCell", {}), ("LSTM", {"proj_size": 2, "num_layers": 2})],
)
def test_second_derivatives_keep_inputs_that_share_a_past_apart(kind, kwargs):
    # backward_graph replayed the steps and differentiated w.r.t. the op's inputs themselves,
    # so a path from one input to another (c_0 = 2·h_0; h_{t-1} and c_{t-1} out of one op)
    # was counted inside the op and again by the engine: first and second derivatives wrong
    cr.manual_seed(6)
    model = getattr(nn, kind)(3, 3, dtype=F64, **kwargs)
    ref = getattr(torch.nn, kind)(3, 3, **kwargs).double()
    ref.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in model.state_dict().items()})
    x = np.random.default_rng(7).standard_normal((4, 3) if kind.endswith("Cell") else (5, 4, 3))
    state = np.random.default_rng(8).standard_normal((4, 3))
    for ours, theirs in zip(_params_hvp(cr, model, x, state), _params_hvp(torch, ref, x, state)):
        np.testing.assert_allclose(ours, theirs, atol=1e-10)
