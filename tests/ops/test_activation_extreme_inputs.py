"""The smooth activations at large |x| and at ±∞ against PyTorch: first derivatives (plain
backward and through the graph) and second derivatives. An exponential in the branch of an
``np.where`` that is not taken must not overflow into the other branch's gradient (0·∞ = NaN),
and a capped density must not leave denormal residues where PyTorch has exact zeros."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

LARGE = np.array([-1000.0, -800.0, -100.0, -40.0, -39.0, -30.0, -3.0, 0.0, 3.0, 30.0, 39.0])
LARGE = np.concatenate([LARGE, [40.0, 100.0, 800.0, 1000.0]])
INFINITE = np.array([-np.inf, np.inf, np.nan])

# (name, keyword arguments): the same call on both sides
SMOOTH = [
    ("elu", {}),
    ("elu", {"alpha": 0.5}),
    ("elu", {"alpha": 2.0}),
    ("elu", {"alpha": -1.0}),
    ("celu", {}),
    ("celu", {"alpha": -2.0}),
    ("selu", {}),
    ("softplus", {}),
    ("softplus", {"beta": 2.0, "threshold": 5.0}),
    ("softplus", {"beta": -1.0}),
    ("silu", {}),
    ("mish", {}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("logsigmoid", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("softsign", {}),
    ("tanhshrink", {}),
]
IDS = [name + "".join(f"_{k}={v}" for k, v in kw.items()) for name, kw in SMOOTH]


def _ours(name, kw, values, dtype):
    x = cr.tensor(values, dtype=dtype, requires_grad=True)
    (g,) = cr.autograd.grad(getattr(F, name)(x, **kw).sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    x.grad = None
    getattr(F, name)(x, **kw).sum().backward()
    return np.asarray(x.grad), np.asarray(g.data), np.asarray(gg.data)


def _theirs(name, kw, values, dtype):
    t = torch.tensor(values.astype(dtype), requires_grad=True)
    (g,) = torch.autograd.grad(getattr(TF, name)(t, **kw).sum(), t, create_graph=True)
    (gg,) = torch.autograd.grad(g.sum(), t)
    return g.detach().numpy(), gg.numpy()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("name", "kw"), SMOOTH, ids=IDS)
def test_first_and_second_derivatives_at_large_inputs(name, kw, dtype):
    values = LARGE.astype(dtype)
    plain, graph, second = _ours(name, kw, values, dtype)
    grad_t, second_t = _theirs(name, kw, values, dtype)
    if name == "mish":
        # PyTorch's mish double backward is NaN where its formula's e^x overflows (x above
        # about 89 in float32, 710 in float64);
        # the true value there is 0, which is what chainrule gives
        overflow = np.isnan(second_t)
        assert np.all(values[overflow] > 80)
        assert np.all(second[overflow] == 0)
        second_t = np.where(overflow, 0.0, second_t)
    # the far tails differ by rounding (PyTorch's σ·(1 − σ) forms cancel where ours do not):
    # a small absolute tolerance; a NaN or ∞ on one side only fails all the same
    rtol, atol = (1e-9, 1e-12) if dtype == np.float64 else (1e-4, 1e-6)
    np.testing.assert_allclose(plain, grad_t, rtol=rtol, atol=atol)
    np.testing.assert_allclose(graph, grad_t, rtol=rtol, atol=atol)
    np.testing.assert_allclose(second, second_t, rtol=rtol, atol=atol)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 2.0])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_elu_second_derivative_is_zero_for_large_positive_inputs(alpha, dtype):
    # the regression: e^800 in the unused branch once made the second derivative NaN
    values = np.array([100.0, 800.0, 1000.0], dtype=dtype)
    x = cr.tensor(values, dtype=dtype, requires_grad=True)
    (g,) = cr.autograd.grad(F.elu(x, alpha).sum(), x, create_graph=True)
    (gg,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(np.asarray(g.data), np.ones(3, dtype))
    np.testing.assert_array_equal(np.asarray(gg.data), np.zeros(3, dtype))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gelu_derivative_past_the_density_cap_and_at_infinity(dtype):
    # float64 once capped |x| at 38, where φ is a denormal: x·φ(38) was −1e−311 at −1000 and
    # −∞ at −∞; PyTorch has 0 and NaN
    values = np.concatenate([np.array([-1000.0, -100.0, -39.0, 39.0, 1000.0]), INFINITE])
    x = cr.tensor(values.astype(dtype), dtype=dtype, requires_grad=True)
    F.gelu(x).sum().backward()
    t = torch.tensor(values.astype(dtype), requires_grad=True)
    TF.gelu(t).sum().backward()
    np.testing.assert_array_equal(np.asarray(x.grad), t.grad.numpy())
