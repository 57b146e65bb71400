"""The optional MKL route for large matrix products (src/chainrule/_mkl.py).

Where the ``mkl`` wheel is not installed the route must stay off and every product go through
NumPy; where it is, products must agree with NumPy's to float rounding, in every operand
layout the layers use, and the route must stand aside where it would fight another thread pool.
"""

import importlib
import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import chainrule as cr
from chainrule import _mkl

matmul_module = importlib.import_module("chainrule.ops.matmul")

_FOUND = bool(_mkl._load(any_cpu=True))  # the wheel, on any CPU (the route's default is Intel's)
_mkl._routines = None  # the module decides again, as it would on its own
needs_mkl = pytest.mark.skipif(not _FOUND, reason="the mkl wheel is not installed")


@pytest.fixture(autouse=True)
def _routines_on_any_cpu(monkeypatch):
    """The route's arithmetic is tested wherever the wheel is, Intel CPU or not."""
    monkeypatch.setattr(_mkl, "_routines", None)
    if _FOUND:
        _mkl._load(any_cpu=True)


def _operands(dtype, layout_a, layout_b, m=96, k=130, n=112):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((k, m) if layout_a == "T" else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if layout_b == "T" else (k, n)).astype(dtype)
    return (a.T if layout_a == "T" else a), (b.T if layout_b == "T" else b)


@needs_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layouts", ["NN", "NT", "TN", "TT"])
def test_gemm_matches_numpy_in_every_layout(dtype, layouts):
    a, b = _operands(dtype, layouts[0], layouts[1])
    with threadpool_limits(1, user_api="blas"):
        out = _mkl.gemm(a, b)
    assert out is not None, "a 1.4 M multiply-add product in a BLAS layout should take MKL"
    expected = a.astype(np.float64) @ b.astype(np.float64)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * np.abs(expected).max())
    assert out.dtype == dtype and out.shape == (a.shape[0], b.shape[1])


@needs_mkl
def test_gemm_reads_row_slices_through_the_leading_dimension():
    big = np.random.default_rng(1).standard_normal((200, 300)).astype(np.float32)
    a, b = big[:, :150], big[:150, 40:240]  # rows longer than the operand: lda 300
    with threadpool_limits(1, user_api="blas"):
        out = _mkl.gemm(a, b)
    assert out is not None
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-3)


@needs_mkl
def test_gemm_declines_what_blas_cannot_read_or_should_not_take():
    a, b = _operands(np.float32, "N", "N")
    with threadpool_limits(1, user_api="blas"):
        assert _mkl.gemm(a[:, ::2], b[::2]) is None  # strided columns
        assert _mkl.gemm(a, b.astype(np.float64)) is None  # mixed dtypes: NumPy promotes
        assert _mkl.gemm(a.astype(np.int64), b.astype(np.int64)) is None
        assert _mkl.gemm(a[:8, :8], b[:8, :8]) is None  # too small to pay for the call
        assert _mkl.dot(a[:, ::2], b[::2]).shape == (a.shape[0], b.shape[1])  # falls back


@needs_mkl
def test_gemm_stands_aside_while_openblas_runs_several_threads():
    a, b = _operands(np.float32, "N", "N")
    with threadpool_limits(2, user_api="blas"):
        threads = _mkl._blas_threads()
        taken = _mkl.gemm(a, b)
    if threads == 1:
        pytest.skip("OpenBLAS was built or capped to one thread here")
    assert taken is None


@needs_mkl
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linear_and_matmul_gradients_agree_with_and_without_mkl(dtype, monkeypatch):
    rng = np.random.default_rng(2)
    x0 = rng.standard_normal((128, 200)).astype(dtype)
    w0 = rng.standard_normal((160, 200)).astype(dtype)
    b0 = rng.standard_normal(160).astype(dtype)

    def run(mkl_on):
        monkeypatch.setattr(matmul_module, "_MKL_ON", mkl_on)
        x, w, b = (cr.tensor(v, requires_grad=True, dtype=dtype) for v in (x0, w0, b0))
        with threadpool_limits(1, user_api="blas"):
            out = cr.nn.functional.linear(x, w, b)
            (out.tanh() @ w).square().sum().backward()
        return [t.detach().numpy() for t in (out, x.grad, w.grad, b.grad)]

    tol = 2e-4 if dtype == "float32" else 1e-11
    for with_mkl, without in zip(run(True), run(False)):
        assert with_mkl.dtype == without.dtype
        np.testing.assert_allclose(with_mkl, without, rtol=tol, atol=tol * np.abs(without).max())


def test_route_is_off_without_the_library(monkeypatch):
    monkeypatch.setattr(_mkl, "_routines", None)
    monkeypatch.setattr(_mkl, "_library_paths", lambda: [])
    assert not _mkl.available()
    a, b = _operands(np.float32, "N", "N")
    with threadpool_limits(1, user_api="blas"):
        assert _mkl.gemm(a, b) is None
        np.testing.assert_array_equal(_mkl.dot(a, b), a.dot(b))


def _available_in_a_fresh_process(setting: str | None) -> str:
    code = "from chainrule import _mkl; print(_mkl.available(), _mkl._intel_cpu())"
    env = dict(os.environ)
    env.pop("CHAINRULE_MKL", None)
    if setting is not None:
        env["CHAINRULE_MKL"] = setting
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


def test_environment_variable_turns_the_route_off():
    assert _available_in_a_fresh_process("0")[0] == "False"


@needs_mkl
def test_route_defaults_to_intel_cpus_and_can_be_forced_on():
    available, intel = _available_in_a_fresh_process(None)
    assert available == intel  # MKL on AMD ran slower than OpenBLAS (see _mkl's docstring)
    assert _available_in_a_fresh_process("1")[0] == "True"
