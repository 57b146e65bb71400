"""Small networks replayed in PyTorch with identical weights: loss and every gradient agree."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as fn

torch = pytest.importorskip("torch")
F = torch.nn.functional

N, IN, HIDDEN, OUT = 16, 5, 7, 3
ACTIVATIONS = [
    ("tanh", fn.tanh, torch.tanh),
    ("relu", fn.relu, F.relu),
    ("gelu", fn.gelu, F.gelu),
    ("silu", fn.silu, F.silu),
    ("elu", fn.elu, F.elu),
    ("leaky_relu", lambda x: fn.leaky_relu(x, 0.1), lambda t: F.leaky_relu(t, 0.1)),
    ("softplus", fn.softplus, F.softplus),
    ("sigmoid", fn.sigmoid, torch.sigmoid),
    ("gelu_tanh", lambda x: fn.gelu(x, "tanh"), lambda t: F.gelu(t, approximate="tanh")),
]

rng = np.random.default_rng(7)
LABELS = rng.integers(0, OUT, N)
LABELS_IGNORED = np.where(np.arange(N) % 5 == 0, -100, LABELS)
BINARY = rng.integers(0, 2, (N, OUT)).astype(np.float64)
REGRESSION = rng.standard_normal((N, OUT))
PROBS = rng.dirichlet(np.ones(OUT), N)
W = np.array([0.5, 2.0, 1.0])


def _t(a, like):
    return torch.tensor(a, dtype=like.dtype) if a.dtype.kind == "f" else torch.tensor(a)


# name -> (ours(output, ...), theirs(output, ...)); targets are NumPy arrays on our side
LOSSES = {
    "mse": (lambda o: fn.mse_loss(o, REGRESSION), lambda o: F.mse_loss(o, _t(REGRESSION, o))),
    "l1": (lambda o: fn.l1_loss(o, REGRESSION), lambda o: F.l1_loss(o, _t(REGRESSION, o))),
    "huber": (
        lambda o: fn.huber_loss(o, REGRESSION, delta=0.5),
        lambda o: F.huber_loss(o, _t(REGRESSION, o), delta=0.5),
    ),
    "bce": (
        lambda o: fn.binary_cross_entropy(fn.sigmoid(o), BINARY),
        lambda o: F.binary_cross_entropy(torch.sigmoid(o), _t(BINARY, o)),
    ),
    "bce_logits": (
        lambda o: fn.binary_cross_entropy_with_logits(o, BINARY, pos_weight=W),
        lambda o: F.binary_cross_entropy_with_logits(o, _t(BINARY, o), pos_weight=_t(W, o)),
    ),
    "cross_entropy": (
        lambda o: fn.cross_entropy(o, LABELS_IGNORED, W, label_smoothing=0.1),
        lambda o: F.cross_entropy(o, _t(LABELS_IGNORED, o), _t(W, o), label_smoothing=0.1),
    ),
    "cross_entropy_probs": (
        lambda o: fn.cross_entropy(o, PROBS),
        lambda o: F.cross_entropy(o, _t(PROBS, o)),
    ),
    "nll": (
        lambda o: fn.nll_loss(fn.log_softmax(o, dim=1), LABELS),
        lambda o: F.nll_loss(F.log_softmax(o, 1), _t(LABELS, o)),
    ),
    "softmax_mse": (
        lambda o: fn.mse_loss(fn.softmax(o), PROBS),
        lambda o: F.mse_loss(F.softmax(o, -1), _t(PROBS, o)),
    ),
}


def _weights(seed):
    r = np.random.default_rng(seed)
    shapes = [(HIDDEN, IN), (HIDDEN,), (HIDDEN, HIDDEN), (HIDDEN,), (OUT, HIDDEN), (OUT,)]
    return [r.standard_normal(s) / np.sqrt(s[-1]) for s in shapes]


def _run_ours(x, weights, act1, act2, loss, dtype):
    params = [cr.tensor(w, dtype=dtype, requires_grad=True) for w in weights]
    w1, b1, w2, b2, w3, b3 = params
    h = act1(fn.linear(cr.tensor(x, dtype=dtype), w1, b1))
    h = act2(fn.linear(h, w2, b2))
    out = loss(fn.linear(h, w3, b3))
    out.backward()
    return out.item(), [p.grad for p in params]


def _run_torch(x, weights, act1, act2, loss, dtype):
    params = [torch.tensor(w.astype(dtype), requires_grad=True) for w in weights]
    w1, b1, w2, b2, w3, b3 = params
    h = act1(F.linear(torch.tensor(x.astype(dtype)), w1, b1))
    h = act2(F.linear(h, w2, b2))
    out = loss(F.linear(h, w3, b3))
    out.backward()
    return out.item(), [p.grad.numpy() for p in params]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("loss_name", sorted(LOSSES))
def test_network_matches_torch(loss_name, dtype):
    index = sorted(LOSSES).index(loss_name)
    _, act1, tact1 = ACTIVATIONS[index % len(ACTIVATIONS)]
    _, act2, tact2 = ACTIVATIONS[(index + 3) % len(ACTIVATIONS)]
    x = np.random.default_rng(index).standard_normal((N, IN))
    weights = _weights(index)
    ours, theirs = LOSSES[loss_name]
    loss, grads = _run_ours(x, weights, act1, act2, ours, dtype)
    ref_loss, ref_grads = _run_torch(x, weights, tact1, tact2, theirs, dtype)
    if dtype == "float64":
        assert loss == pytest.approx(ref_loss, rel=1e-6, abs=1e-6)
        for g, r in zip(grads, ref_grads):
            np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-6)
    else:
        assert loss == pytest.approx(ref_loss, rel=1e-4)
        for g, r in zip(grads, ref_grads):
            scale = float(np.max(np.abs(r)))
            np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-4 * scale)
        assert all(g.dtype == np.float32 for g in grads)


@pytest.mark.parametrize("name", [a[0] for a in ACTIVATIONS])
def test_every_activation_in_a_network(name):
    """Each activation once as the hidden non-linearity of a 2-layer cross-entropy net."""
    act, tact = next((a, t) for n, a, t in ACTIVATIONS if n == name)
    x = np.random.default_rng(1).standard_normal((N, IN))
    weights = _weights(2)
    ours, theirs = LOSSES["cross_entropy"]
    loss, grads = _run_ours(x, weights, act, act, ours, "float64")
    ref_loss, ref_grads = _run_torch(x, weights, tact, tact, theirs, "float64")
    assert loss == pytest.approx(ref_loss, rel=1e-10)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-8, atol=1e-10)
