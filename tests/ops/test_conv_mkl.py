"""Convolutions' and recurrent layers' matrix products through the optional MKL route.

On Intel CPUs MKL multiplies a convolution's shapes (few output channels times long column
matrices) 1.1-3.4x faster than NumPy's OpenBLAS, so Conv1d/2d/3d and the transposed
convolutions send their large 2-D products there while NumPy's BLAS runs one thread. These
tests check that the route is taken and that every output and gradient agrees with the NumPy
route and with PyTorch, in each convolution path (exact columns, full-width rows, windows).
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import chainrule as cr
from chainrule import _mkl

torch = pytest.importorskip("torch")

_FOUND = bool(_mkl._load(any_cpu=True))
_mkl._routines = None
needs_mkl = pytest.mark.skipif(not _FOUND, reason="the mkl wheel is not installed")

# (input shape, weight shape, keyword arguments): LeNet-5's two layers (exact columns), a wide
# plane (full-width rows), a strided one (windows), and 1-d and 3-d convolutions
CASES = {
    "lenet1": ((16, 1, 28, 28), (6, 1, 5, 5), {"padding": 2}),
    "lenet2": ((16, 6, 14, 14), (16, 6, 5, 5), {}),
    "rows": ((2, 3, 70, 70), (8, 3, 3, 3), {"padding": 1}),
    "strided": ((8, 4, 32, 32), (16, 4, 3, 3), {"stride": 2, "padding": 1}),
    "conv1d": ((16, 8, 300), (16, 8, 5), {"padding": 2}),
    "conv3d": ((4, 3, 12, 12, 12), (8, 3, 3, 3, 3), {"padding": 1}),
}


def _run(name, dtype, transposed=False):
    x_shape, w_shape, kwargs = CASES[name]
    rng = np.random.default_rng(len(name))
    x0 = rng.standard_normal(x_shape).astype(dtype)
    if transposed:
        w_shape = (w_shape[1], w_shape[0], *w_shape[2:])
        kwargs = {k: v for k, v in kwargs.items() if k != "padding"}
    w0 = (0.2 * rng.standard_normal(w_shape)).astype(dtype)
    b0 = rng.standard_normal(w_shape[1 if transposed else 0]).astype(dtype)
    dims = len(x_shape) - 2
    prefix = "conv_transpose" if transposed else "conv"
    ours = getattr(cr.nn.functional, f"{prefix}{dims}d")
    theirs = getattr(torch.nn.functional, f"{prefix}{dims}d")
    results = []
    for fn, make in (
        (ours, lambda v: cr.tensor(v, requires_grad=True, dtype=dtype)),
        (theirs, lambda v: torch.tensor(v, requires_grad=True)),
    ):
        x, w, b = make(x0), make(w0), make(b0)
        with threadpool_limits(1, user_api="blas"):
            out = fn(x, w, b, **kwargs)
            (out * out).sum().backward()
        arrays = [out, x.grad, w.grad, b.grad]
        results.append([a.detach().numpy() for a in arrays])
    return results


def _calls(monkeypatch):
    taken = []
    gemm = _mkl.gemm

    def counting(a, b, out=None):
        result = gemm(a, b, out)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(_mkl, "gemm", counting)
    return taken


@needs_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", list(CASES))
def test_convolutions_take_mkl_and_agree_with_numpy_and_torch(name, dtype, monkeypatch):
    monkeypatch.setattr(_mkl, "_routines", None)
    _mkl._load(any_cpu=True)
    taken = _calls(monkeypatch)
    (with_mkl, torch_out) = _run(name, dtype)
    assert any(taken), f"{name}: no product took the MKL route"
    monkeypatch.setattr(_mkl, "_routines", {})  # the route off: NumPy's products
    taken.clear()
    without, _ = _run(name, dtype)
    assert not any(taken)
    tol = 2e-4 if dtype == np.float32 else 1e-10
    for ours, numpy_route, reference in zip(with_mkl, without, torch_out):
        scale = np.abs(reference).max()
        np.testing.assert_allclose(ours, numpy_route, rtol=tol, atol=tol * scale)
        np.testing.assert_allclose(ours, reference, rtol=tol, atol=tol * scale)


@needs_mkl
@pytest.mark.parametrize("name", ["lenet2", "conv3d"])
def test_transposed_convolutions_agree_with_torch_on_the_mkl_route(name, monkeypatch):
    monkeypatch.setattr(_mkl, "_routines", None)
    _mkl._load(any_cpu=True)
    taken = _calls(monkeypatch)
    ours, reference = _run(name, np.float32, transposed=True)
    assert any(taken)
    for a, b in zip(ours, reference):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4 * np.abs(b).max())


@needs_mkl
def test_gemm_writes_into_out_and_declines_an_out_it_cannot_fill():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((64, 300)).astype(np.float32)
    b = rng.standard_normal((300, 200)).astype(np.float32)
    out = np.empty((64, 200), np.float32)
    with threadpool_limits(1, user_api="blas"):
        assert _mkl._load(any_cpu=True)
        assert _mkl.gemm(a, b, out) is out
        np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-3)
        for bad in (
            np.empty((64, 200), np.float64),
            np.empty((200, 64), np.float32).T,
            np.empty((64, 201), np.float32),
        ):
            assert _mkl.gemm(a, b, bad) is None
        # dot falls back to NumPy for such an out, with NumPy's own checks
        filled = np.empty((64, 200), np.float32)
        np.testing.assert_allclose(_mkl.dot(a, b, out=filled), a @ b, rtol=1e-4, atol=1e-3)
    _mkl._routines = None


@needs_mkl
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_recurrent_layers_weight_and_input_gradients_take_mkl_and_agree_with_torch(
    kind, monkeypatch
):
    """A recurrent layer's input and weight gradients are one product each over the whole
    sequence (ops/recurrent_layers.py): large enough for the MKL route."""
    monkeypatch.setattr(_mkl, "_routines", None)
    _mkl._load(any_cpu=True)
    taken = _calls(monkeypatch)
    x0 = np.random.default_rng(5).standard_normal((30, 24, 40)).astype(np.float32)
    torch.manual_seed(0)
    theirs = getattr(torch.nn, kind)(40, 64)
    ours = getattr(cr.nn, kind)(40, 64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    results = []
    for lib, layer in (("cr", ours), ("torch", theirs)):
        x = (cr if lib == "cr" else torch).tensor(x0, requires_grad=True)
        with threadpool_limits(1, user_api="blas"):
            out, _ = layer(x)
            (out * out).sum().backward()
        results.append([x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()])
    assert any(taken), f"{kind}: no product took the MKL route"
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-4 * np.abs(b).max())
