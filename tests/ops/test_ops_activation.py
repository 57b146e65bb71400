"""Activations against PyTorch and finite differences, plus stability at ±1000."""

import numpy as np
import pytest
from op_check import UNARY, away_from_zero, case, check_case, ids

import chainrule as cr
import chainrule.functional as fn

torch = pytest.importorskip("torch")
F = torch.nn.functional

ND = [((4, 3),), ((2, 3, 4),)]


def wide(rng, shape):
    """Normal values times 8: exercises both tails and softplus's threshold."""
    return away_from_zero(rng, shape) * 8


CASES = [
    *case("sigmoid", fn.sigmoid, torch.sigmoid, UNARY),
    *case("tanh", fn.tanh, torch.tanh, UNARY),
    *case("relu", fn.relu, F.relu, UNARY, domain=away_from_zero),
    *case("leaky_relu", fn.leaky_relu, F.leaky_relu, UNARY, domain=away_from_zero),
    *case(
        "leaky_relu_0.2",
        lambda x: x.leaky_relu(0.2),
        lambda t: F.leaky_relu(t, 0.2),
        UNARY,
        domain=away_from_zero,
    ),
    *case("elu", fn.elu, F.elu, UNARY, domain=away_from_zero),
    *case("elu_alpha", lambda x: x.elu(1.7), lambda t: F.elu(t, 1.7), UNARY, domain=away_from_zero),
    *case("gelu", fn.gelu, F.gelu, UNARY, domain=wide),
    *case(
        "gelu_tanh",
        lambda x: x.gelu("tanh"),
        lambda t: F.gelu(t, approximate="tanh"),
        UNARY,
        domain=wide,
    ),
    *case("softplus", fn.softplus, F.softplus, UNARY, domain=wide),
    *case(
        "softplus_beta",
        lambda x: x.softplus(2.0, 5.0),
        lambda t: F.softplus(t, 2.0, 5.0),
        UNARY,
        domain=wide,
    ),
    *case("silu", fn.silu, F.silu, UNARY, domain=wide),
    *case("log_sigmoid", fn.log_sigmoid, F.logsigmoid, UNARY, domain=wide),
    *case("softmax", fn.softmax, lambda t: F.softmax(t, -1), UNARY[1:], domain=wide),
    *case("softmax_0", lambda x: x.softmax(0), lambda t: F.softmax(t, 0), ND),
    *case("softmax_dim1", lambda x: fn.softmax(x, dim=1), lambda t: F.softmax(t, 1), ND),
    *case("softmax_scalar", fn.softmax, lambda t: F.softmax(t, 0), [((),)]),
    *case("log_softmax", fn.log_softmax, lambda t: F.log_softmax(t, -1), UNARY[1:], domain=wide),
    *case("log_softmax_0", lambda x: x.log_softmax(axis=0), lambda t: F.log_softmax(t, 0), ND),
    *case("log_softmax_dim1", lambda x: x.log_softmax(dim=1), lambda t: F.log_softmax(t, 1), ND),
    *case("log_softmax_scalar", fn.log_softmax, lambda t: F.log_softmax(t, 0), [((),)]),
]

EXTREME = np.array([-1000.0, -100.0, -37.0, -17.0, -1e-3, 0.0, 1e-3, 17.0, 37.0, 100.0, 1000.0])
ACTIVATIONS = {
    "sigmoid": (fn.sigmoid, torch.sigmoid),
    "tanh": (fn.tanh, torch.tanh),
    "relu": (fn.relu, F.relu),
    "leaky_relu": (fn.leaky_relu, F.leaky_relu),
    "elu": (fn.elu, F.elu),
    "gelu": (fn.gelu, F.gelu),
    "gelu_tanh": (lambda x: fn.gelu(x, "tanh"), lambda t: F.gelu(t, approximate="tanh")),
    "softplus": (fn.softplus, F.softplus),
    "silu": (fn.silu, F.silu),
    "log_sigmoid": (fn.log_sigmoid, F.logsigmoid),
    "softmax": (fn.softmax, lambda t: F.softmax(t, -1)),
    "log_softmax": (fn.log_softmax, lambda t: F.log_softmax(t, -1)),
}


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_activation(c, dtype):
    check_case(c, dtype)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_stable_at_plus_minus_1000(name, dtype):
    """No overflow, invalid or divide-by-zero (underflow to 0 is the right answer) and no NaN."""
    ours, theirs = ACTIVATIONS[name]
    x = cr.tensor(EXTREME, dtype=dtype, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = ours(x)
        out.backward(np.linspace(-1, 1, EXTREME.size).astype(dtype))
    assert np.isfinite(out.data).all() and np.isfinite(x.grad).all()
    t = torch.tensor(EXTREME.astype(dtype), requires_grad=True)
    ref = theirs(t)
    ref.backward(torch.tensor(np.linspace(-1, 1, EXTREME.size).astype(dtype)))
    rtol = 1e-10 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=rtol, atol=1e-30)
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=rtol, atol=1e-6)


def test_gelu_matches_torch_to_1e12_over_a_wide_range():
    x = np.linspace(-40, 40, 20001)
    ours = fn.gelu(cr.tensor(x, dtype="float64", requires_grad=True))
    ref = F.gelu(torch.tensor(x))
    np.testing.assert_allclose(ours.data, ref.numpy(), rtol=1e-12, atol=1e-14)


def test_softmax_rows_sum_to_one_and_dim_overrides_axis():
    x = cr.randn(5, 4)
    np.testing.assert_allclose(fn.softmax(x, axis=0, dim=1).data.sum(axis=1), 1.0, rtol=1e-6)


def test_gelu_rejects_unknown_approximation():
    with pytest.raises(ValueError, match="approximate"):
        fn.gelu(cr.tensor([1.0]), "sigmoid")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", [(4, 5), (40, 50), (64, 64), (3, 32, 32)])
def test_relu_equals_torch_bit_for_bit_nan_and_signed_zero_included(shape, dtype):
    """Both of ReLU's paths (from 2,048 elements it takes max(zeros, z) instead of max(0, z)):
    PyTorch's values, −0 kept, NaN kept, and NaN passes the gradient as in PyTorch."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape).astype(dtype)
    flat = x.reshape(-1)
    flat[:6] = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0]
    t = cr.tensor(x, dtype=dtype, requires_grad=True)
    out = fn.relu(t)
    upstream = rng.normal(size=shape).astype(dtype)
    out.backward(upstream)
    ref_x = torch.tensor(x, requires_grad=True)
    ref = torch.relu(ref_x)
    ref.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())  # NaN where NaN
    assert np.array_equal(
        np.signbit(out.detach().numpy()), np.signbit(ref.detach().numpy())
    )  # −0 too
    np.testing.assert_array_equal(t.grad.numpy(), ref_x.grad.numpy())  # NaN passes the gradient
