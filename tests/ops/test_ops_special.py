"""The erf family of ops/special.py and the activations' fast paths, at their accuracy limits.

erf against ``math.erf`` on a dense grid with both tails; Φ(−a) against mpmath in relative
terms; every activation at 0, ±88, ±1e4, ±inf and NaN, in float32 and float64, against a
float64 reference of its own formula, with no floating-point warning.
"""

import math

import mpmath as mp
import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as fn
from chainrule.ops.special import erf, erfc, gaussian_tail32

GRID = np.concatenate([np.linspace(-8, 8, 200001), [-1e4, -88, -30, 30, 88, 1e4, 0.0, -0.0]])


def test_erf_float64_matches_math_erf_to_2e15():
    ours = erf(GRID)
    ref = np.array([math.erf(v) for v in GRID])
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-15)  # the documented bound


def test_erf_float32_matches_math_erf_to_float32_rounding():
    x = GRID.astype(np.float32)
    ours = erf(x)
    ref = np.array([math.erf(float(v)) for v in x])
    assert ours.dtype == np.float32
    assert np.abs(ours - ref).max() <= 4e-7  # a few ulps of 1 (6e-8 each)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erfc_keeps_relative_accuracy_in_the_tail(dtype):
    x = np.linspace(0, 9, 2001).astype(dtype)  # erfc(9) = 4e-37: still a normal float32
    ours = erfc(x).astype(np.float64)
    ref = np.array([math.erfc(float(v)) for v in x])
    if dtype == np.float32:  # the rounding of x² in e^(−x²) grows with x²
        bound = 4e-7 + 2e-7 * x.astype(np.float64) ** 2
    else:  # absolute 2e-15 below 2.5, relative 1e-14 in the tail
        bound = np.where(x < 2.5, 2e-15 / ref, 1e-14)
    assert (np.abs(ours / ref - 1) <= bound).all()
    np.testing.assert_allclose(erfc(-x).astype(np.float64), 2 - ref, rtol=1e-6)


def test_gaussian_tail32_relative_error():
    mp.mp.dps = 30
    a = np.linspace(0, 13, 1301).astype(np.float32)
    tail, gauss = gaussian_tail32(a)
    ref = np.array([float(mp.ncdf(-mp.mpf(float(v)))) for v in a])
    np.testing.assert_allclose(tail, ref, rtol=4e-6, atol=0)
    np.testing.assert_allclose(gauss, np.exp(-(a.astype(np.float64) ** 2) / 2), rtol=6e-6)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_erf_at_nan_and_infinity(value):
    for dtype in (np.float32, np.float64):
        got = erf(np.array([value], dtype=dtype))[0]
        assert np.isnan(got) if np.isnan(value) else got == np.sign(value)


# ---- the activations at the edges ---------------------------------------------------------
def _phi(x):
    return np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])


def _gelu_ref(x):  # value, derivative (float64, erfc so the negative tail is exact)
    pdf = np.exp(-np.minimum(x * x, 1e4) / 2) / math.sqrt(2 * math.pi)
    return x * _phi(x), _phi(x) + x * pdf


def _sig(x):
    return np.array([1 / (1 + math.exp(-v)) if v > -700 else 0.0 for v in x])


def _sig_neg(x):
    return _sig(-x)


REFS = {  # name: (ours, reference value and derivative in float64)
    "sigmoid": (fn.sigmoid, lambda x: (_sig(x), _sig(x) * _sig_neg(x))),
    "silu": (fn.silu, lambda x: (x * _sig(x), _sig(x) * (1 + x * _sig_neg(x)))),
    "softplus": (
        fn.softplus,
        lambda x: (
            np.where(x > 20, x, np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))),
            np.where(x > 20, 1.0, _sig(x)),
        ),
    ),
    "log_sigmoid": (
        fn.log_sigmoid,
        lambda x: (np.minimum(x, 0) - np.log1p(np.exp(-np.abs(x))), _sig_neg(x)),
    ),
    "elu": (
        fn.elu,
        lambda x: (
            np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))),
        ),
    ),
    "elu_half": (
        lambda t: fn.elu(t, 0.5),
        lambda x: (
            np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))),
            np.where(x > 0, 1.0, 0.5 * np.exp(np.minimum(x, 0))),
        ),
    ),
    "leaky_relu": (
        fn.leaky_relu,
        lambda x: (np.where(x > 0, x, 0.01 * x), np.where(x > 0, 1.0, 0.01)),
    ),
    "gelu": (fn.gelu, _gelu_ref),
}
EDGES = np.array(
    [
        -1e4,
        -88.0,
        -30.0,
        -17.0,
        -5.0,
        -1.0,
        -1e-7,
        -0.0,
        0.0,
        1e-7,
        0.5,
        1.0,
        5.0,
        17.0,
        30.0,
        88.0,
        1e4,
    ]
)


@pytest.mark.parametrize("tiles", [1, 64], ids=["small", "large"])  # Sigmoid: both paths
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(REFS))
def test_activation_at_the_edges(name, dtype, tiles):
    ours, ref = REFS[name]
    edges = np.tile(EDGES, tiles)
    x = cr.tensor(edges, dtype=dtype, requires_grad=True)
    with np.errstate(all="raise", under="ignore"):
        out = ours(x)
        out.backward(np.ones(edges.size, dtype=dtype))
    assert out.dtype == np.dtype(dtype) and x.grad.dtype == np.dtype(dtype)
    value, slope = ref(edges.astype(dtype).astype(np.float64))
    rtol = 1e-6 if dtype == "float32" else 1e-12
    tiny = float(np.finfo(dtype).tiny) * 20
    np.testing.assert_allclose(out.data, value, rtol=rtol, atol=tiny)
    # ELU's local derivative is α·e^z itself (once out + α, only absolutely accurate)
    np.testing.assert_allclose(x.grad, slope, rtol=rtol, atol=tiny)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(REFS) + ["gelu_tanh"])
def test_nan_propagates_and_infinities_stay_quiet(name, dtype):
    ours = REFS[name][0] if name != "gelu_tanh" else (lambda t: fn.gelu(t, "tanh"))
    x = cr.tensor([np.nan, -np.nan, 1.0], dtype=dtype, requires_grad=True)
    out = ours(x)
    out.backward(np.ones(3, dtype=dtype))
    assert np.isnan(out.data[:2]).all()
    if name.startswith("elu"):  # PyTorch's ELU passes the gradient at NaN (z ≤ 0 is false)
        assert x.grad[:2].tolist() == [1.0, 1.0]
    elif name != "leaky_relu":  # its derivative reads only the sign of z, as PyTorch's does
        assert np.isnan(x.grad[:2]).all()
    assert np.isfinite(out.data[2]) and np.isfinite(x.grad[2])
    with np.errstate(all="raise", under="ignore", invalid="ignore"):
        big = ours(cr.tensor([np.inf, 3e38 if dtype == "float32" else 1e300], dtype=dtype))
    assert not np.isnan(big.data).any()


@pytest.mark.parametrize("name", sorted(REFS) + ["gelu_tanh"])
def test_zero_dimensional_input(name):
    ours = REFS[name][0] if name != "gelu_tanh" else (lambda t: fn.gelu(t, "tanh"))
    for dtype in ("float32", "float64"):
        x = cr.tensor(0.7, dtype=dtype, requires_grad=True)
        out = ours(x)
        out.backward()
        vector = cr.tensor([0.7], dtype=dtype, requires_grad=True)
        ours(vector).sum().backward()
        assert out.shape == () and x.grad.shape == ()
        assert out.item() == pytest.approx(ours(cr.tensor([0.7], dtype=dtype)).item())
        assert x.grad.item() == pytest.approx(vector.grad[0].item())
