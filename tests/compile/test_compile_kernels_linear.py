"""The jit tier's kernels against float64 NumPy: linear (forward and the three gradients) on
both sides of the loops/BLAS threshold (``_LOOP_MACS``), and float32 tanh's rational form."""

import numpy as np
import pytest

pytest.importorskip("numba")

from chainrule.autograd import compile_kernels as K  # noqa: E402


@pytest.mark.parametrize("n, m, o", [(1, 2, 1), (8, 8, 8), (32, 2, 16), (32, 16, 16), (4, 3, 64)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_linear_kernels_match_numpy(n, m, o, dtype):
    rng = np.random.default_rng(n * 100 + m * 10 + o)
    x, w, b, g = (rng.standard_normal(s).astype(dtype) for s in ((n, m), (o, m), (o,), (n, o)))
    path = "blas" if n * m * o > K._LOOP_MACS else "loops"
    tol = 1e-5 if dtype == np.float32 else 1e-12
    x64, w64, g64 = x.astype(np.float64), w.astype(np.float64), g.astype(np.float64)

    out = K.linear_fwd(x, w, b)
    np.testing.assert_allclose(out, x64 @ w64.T + b, rtol=tol, atol=tol, err_msg=path)
    assert out.dtype == dtype

    gx, gw, gb = K.linear_bwd(g, x, w, True)
    np.testing.assert_allclose(gx, g64 @ w64, rtol=tol, atol=tol, err_msg=path)
    np.testing.assert_allclose(gw, g64.T @ x64, rtol=tol, atol=tol, err_msg=path)
    np.testing.assert_allclose(gb, g64.sum(0), rtol=tol, atol=tol, err_msg=path)
    assert K.linear_bwd(g, x, w, False)[0].size == 0  # no input gradient asked: none made


def test_threshold_sends_both_paths_through_these_tests():
    sizes = [n * m * o for n, m, o in [(1, 2, 1), (8, 8, 8), (32, 2, 16), (32, 16, 16)]]
    assert min(sizes) <= K._LOOP_MACS < max(sizes)


def test_float32_tanh_kernel_is_within_half_an_ulp_and_keeps_special_values():
    bits = np.arange(np.float32(1e-12).view(np.int32), np.float32(12).view(np.int32), 997)
    x = bits.astype(np.int32).view(np.float32)
    x = np.concatenate([x, -x]).astype(np.float32)
    exact = np.tanh(x.astype(np.float64))
    got = K.tanh_fwd(x)
    assert got.dtype == np.float32
    ulps = np.abs(got - exact) / np.spacing(np.abs(exact).astype(np.float32))
    assert ulps.max() <= 0.51  # the rational form's 3e-10 plus float32's own half ulp

    special = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, 9.0, 40.0], np.float32)
    out = K.tanh_fwd(special)
    assert out[0] == 0 and not np.signbit(out[0]) and out[1] == 0 and np.signbit(out[1])
    assert out[2] == 1 and out[3] == -1 and np.isnan(out[4]) and out[5] == np.float32(1e-45)
    assert out[6] == np.tanh(np.float64(9.0)).astype(np.float32) and out[7] == 1


def test_float64_tanh_kernel_stays_on_libm():
    x = np.linspace(-30, 30, 2001)
    np.testing.assert_allclose(K.tanh_fwd(x), np.tanh(x), rtol=1e-15, atol=1e-16)
