"""ln(1 + e) and e^x − 1 through exp and log (chainrule.ops.log1p_expm1): accuracy over the
whole range the activations use, special values, which path runs, and the activations that use
them on batches big enough to take the fast path, against PyTorch."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as fn
from chainrule.ops import log1p_expm1
from chainrule.ops.log1p_expm1 import MIN_SIZE, expm1_by_exp, log1p_by_log

# NumPy documents its float32 log within 3.83 ulp and exp within 2.52: the rewrites carry that
# error (measured 3.5 and 3.9 on a Zen 3), against under 1 ulp for np.log1p / np.expm1.
MAX_ULP = 4.5


def ulps(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|got − exact| in units of the last place of exact rounded to float32."""
    spacing = np.spacing(np.abs(exact.astype(np.float32))).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


def float32_range(low_bits: int, high_bits: int, step: int) -> np.ndarray:
    """Every ``step``-th float32 between two bit patterns (a sweep of all binades)."""
    return np.arange(low_bits, high_bits + 1, step, dtype=np.uint32).view(np.float32)


def test_log1p_by_log_over_every_binade_of_0_to_1():
    e = float32_range(0, 0x3F800000, 31)  # 0, subnormals, ..., 1
    err = ulps(log1p_by_log(e), np.log1p(e.astype(np.float64)))
    assert err.max() <= MAX_ULP
    assert err.mean() < 0.5


def test_expm1_by_exp_over_every_binade_of_minus_104_to_0():
    x = -float32_range(0, 0x42D00000, 37)  # −0, −subnormals, ..., −104
    with np.errstate(under="ignore"):
        out, exp = expm1_by_exp(x)
    assert np.array_equal(exp, np.exp(x))
    err = ulps(out, np.expm1(x.astype(np.float64)))
    assert err.max() <= MAX_ULP
    assert err.mean() < 0.5


def test_special_values():
    e = np.array([0.0, 1.0, 1e-30, 2.0**-25, np.nan], np.float32)
    got = log1p_by_log(e)
    assert got[0] == 0 and not np.signbit(got[0])
    assert got[1] == np.float32(np.log1p(1.0))
    assert got[2] == e[2] and got[3] == e[3]  # too small to change 1: ln(1 + e) rounds to e
    assert np.isnan(got[4])

    x = np.array([-0.0, 0.0, -1e-30, -np.inf, -1e30, -20.0, -17.5, np.nan], np.float32)
    with np.errstate(under="ignore"):
        got = expm1_by_exp(x)[0]
    assert got[0] == 0 and np.signbit(got[0])  # −0 stays −0, as np.expm1
    assert got[1] == 0 and not np.signbit(got[1])
    assert got[2] == x[2]
    assert got[3] == -1 and got[4] == -1 and got[5] == -1
    assert got[6] == np.float32(np.expm1(np.float64(-17.5)))
    assert np.isnan(got[7])


def test_no_overflow_or_invalid_operation():
    """Nothing overflows or makes a NaN from numbers; underflow to 0 is the right answer."""
    e = np.concatenate([float32_range(0, 0x3F800000, 4099), [np.float32(0)]])
    x = np.concatenate([-float32_range(0, 0x7F800000, 4099), [np.float32(-np.inf)]])
    with np.errstate(all="raise", under="ignore"):
        assert not np.isnan(log1p_by_log(e)).any()
        out, exp = expm1_by_exp(x)
        assert not np.isnan(out).any() and not np.isnan(exp).any()


def test_numpy_runs_where_the_rewrite_would_not_pay(monkeypatch):
    monkeypatch.setattr(log1p_expm1, "_NUMPY_FAST", False)
    rng = np.random.default_rng(0)
    small = rng.random(MIN_SIZE - 1).astype(np.float32)
    wide64 = rng.random(4 * MIN_SIZE)  # float64: NumPy's (no SIMD exp/log for it on AVX2)
    for e in (small, wide64):
        assert np.array_equal(log1p_expm1.log1p_unit(e), np.log1p(e))
        out, exp = log1p_expm1.expm1_and_exp(-e)
        assert np.array_equal(out, np.expm1(-e)) and np.array_equal(exp, np.exp(-e))
    big = rng.random(MIN_SIZE).astype(np.float32)
    assert np.array_equal(log1p_expm1.log1p_unit(big), log1p_by_log(big))
    assert np.array_equal(log1p_expm1.expm1_and_exp(-big)[0], expm1_by_exp(-big)[0])
    # where NumPy has its SIMD log1p/expm1 (AVX-512 SKX builds), NumPy's run at every size
    monkeypatch.setattr(log1p_expm1, "_NUMPY_FAST", True)
    assert np.array_equal(log1p_expm1.log1p_unit(big), np.log1p(big))


torch = pytest.importorskip("torch")
F = torch.nn.functional

BATCH_ACTIVATIONS = {
    "softplus": (fn.softplus, F.softplus),
    "softplus_beta": (lambda x: fn.softplus(x, 2.0, 5.0), lambda t: F.softplus(t, 2.0, 5.0)),
    "log_sigmoid": (fn.log_sigmoid, F.logsigmoid),
    "elu": (fn.elu, F.elu),
    "elu_alpha_0.5": (lambda x: fn.elu(x, 0.5), lambda t: F.elu(t, 0.5)),
    "elu_alpha_1.7": (lambda x: fn.elu(x, 1.7), lambda t: F.elu(t, 1.7)),
    "bce_with_logits": (
        lambda x: cr.nn.functional.binary_cross_entropy_with_logits(x, cr.tensor(TARGET)),
        lambda t: F.binary_cross_entropy_with_logits(t, torch.tensor(TARGET)),
    ),
}
TARGET = (np.random.default_rng(2).random((128, 256)) < 0.5).astype(np.float32)


@pytest.mark.parametrize("name", sorted(BATCH_ACTIVATIONS))
def test_batch_activations_take_the_rewrite_and_match_torch(name, monkeypatch):
    """128×256 float32 (the size the loss and activation benchmark times), with the rewrite
    forced on (it is off on CPUs where NumPy's own functions are fast): values and gradients
    within a few float32 roundings of PyTorch's, across both tails and tiny |x|."""
    monkeypatch.setattr(log1p_expm1, "_NUMPY_FAST", False)
    ours, theirs = BATCH_ACTIVATIONS[name]
    rng = np.random.default_rng(1)
    z = rng.standard_normal((128, 256)) * np.where(rng.random((128, 256)) < 0.1, 1e-5, 6)
    z = z.astype(np.float32)
    z[0, :4] = [0.0, -0.0, 30.0, -30.0]
    upstream = rng.standard_normal((128, 256)).astype(np.float32)
    x = cr.tensor(z, requires_grad=True)
    out = ours(x)
    t = torch.tensor(z, requires_grad=True)
    ref = theirs(t)
    if out.ndim:
        out.backward(upstream)
        ref.backward(torch.tensor(upstream))
    else:
        out.backward()
        ref.backward()
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=2e-6, atol=1e-12)
    # BCE's tiny gradients (σ(z) − t near t): ours keep their digits, PyTorch's difference
    # loses them, so they agree to a few roundings of the largest gradient only
    atol = 1e-6 * float(np.abs(x.grad).max()) if name == "bce_with_logits" else 1e-12
    np.testing.assert_allclose(x.grad, t.grad.numpy(), rtol=2e-6, atol=atol)
    if name.startswith("elu"):  # the sign of zero at ±0, as PyTorch
        assert np.array_equal(np.signbit(out.data[0, :2]), np.signbit(ref.detach().numpy()[0, :2]))


@pytest.mark.parametrize(
    "features, pays",
    [
        ({"AVX2": True, "FMA3": True, "AVX512_SKX": False}, True),  # Zen 2/3, Haswell…Alder Lake
        ({"AVX2": True, "FMA3": True, "AVX512_SKX": True}, False),  # NumPy's SVML log1p/expm1
        ({"ASIMD": True, "NEON": True}, False),  # ARM: exp and log not SIMD in NumPy either
        ({}, False),
    ],
)
def test_the_rewrite_runs_only_where_numpy_has_simd_exp_and_log_but_no_simd_log1p(
    features, pays, monkeypatch
):
    from numpy._core import _multiarray_umath

    monkeypatch.setattr(_multiarray_umath, "__cpu_features__", features)
    assert log1p_expm1._rewrite_pays() is pays
