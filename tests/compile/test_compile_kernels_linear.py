"""The jit tier's linear kernels on both sides of the loops/BLAS threshold (``_LOOP_MACS``):
forward and the three gradients against float64 NumPy."""

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
