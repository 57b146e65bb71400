"""Softmax and log-softmax along the last axis of C-ordered input, through the row path of
ops/softmax.py and through the general path: the unshifted formulas within ±60 / ±16, the
shifted ones beyond, and −inf entries and rows give PyTorch's numbers and finite-difference
gradients; float32 stays float32."""

import sys

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")
F = torch.nn.functional


@pytest.fixture(autouse=True, params=["row path", "general path"])
def path(request, monkeypatch):
    """Every test runs both ways: the row path forced on for any size, and forced off."""
    module = sys.modules["chainrule.ops.softmax"]
    size = 0 if request.param == "row path" else 10**12
    monkeypatch.setattr(module, "_ROW_PATH_MIN_SIZE", size)
    return request.param


# the largest entry just inside and just outside each op's unshifted range, and far beyond
EDGES = {
    "softmax": [59.5, 60.5, -59.5, -60.5, 1e4, -1e4],
    "log_softmax": [15.5, 16.5, -15.5, -16.5, 1e4, -1e4],
}


def _run(name, a, g):
    """Ours in a's dtype; PyTorch's in float64 on the same stored values (PyTorch's float32
    log-softmax, x − (max + ln Σ), is itself off by up to 1e-5 relative near 0)."""
    x = cr.tensor(a, dtype=a.dtype, requires_grad=True)
    out = getattr(cr.functional, name)(x, dim=-1)
    out.backward(g)
    assert out.dtype == a.dtype and x.grad_array.dtype == a.dtype
    tx = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    ref = getattr(F, name)(tx, dim=-1)
    ref.backward(torch.tensor(g, dtype=torch.float64))
    return out, x, ref, tx


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape", [(1, 16), (128, 256), (3, 4, 5), (7,)])
def test_row_path_matches_torch_and_keeps_float32(name, shape):
    rng = np.random.default_rng(3)
    a = (4 * rng.standard_normal(shape)).astype(np.float32)
    g = rng.standard_normal(shape).astype(np.float32)
    out, x, ref, tx = _run(name, a, g)
    assert out.dtype == np.float32 and x.grad_array.dtype == np.float32
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=2e-6, atol=1e-30)
    np.testing.assert_allclose(x.grad_array, tx.grad.numpy(), rtol=1e-5, atol=1e-6)
    # and PyTorch's float32 result within its own rounding: of x − (max + ln Σ), whose
    # absolute error is that of the max (ulp(16) ≈ 2e-6 here)
    ref32 = getattr(F, name)(torch.tensor(a), dim=-1).numpy()
    np.testing.assert_allclose(out.detach().numpy(), ref32, rtol=1e-5, atol=4e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_both_sides_of_the_unshifted_range_match_torch(name, dtype):
    rng = np.random.default_rng(4)
    for edge in EDGES[name]:
        a = rng.standard_normal((4, 9)).astype(dtype)
        a[1, 3] = edge  # one row reaches the bound, the others do not
        g = rng.standard_normal((4, 9)).astype(dtype)
        out, x, ref, tx = _run(name, a, g)
        rtol = 2e-6 if dtype == "float32" else 1e-12
        # in float64 the reference's own x − (max + ln Σ) is off by an ulp of the max
        atol = 1e-30 if dtype == "float32" else 2 * np.finfo(dtype).eps * np.abs(a).max()
        np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=rtol, atol=atol)
        np.testing.assert_allclose(x.grad_array, tx.grad.numpy(), rtol=10 * rtol, atol=1e-6)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_minus_infinity_entries_and_rows_behave_as_torch(name):
    a = np.array(
        [[0.0, -np.inf, 1.0, 2.0], [-np.inf] * 4, [3.0, -np.inf, -np.inf, -np.inf]],
        dtype=np.float32,
    )
    g = np.array([[1.0, 2.0, -1.0, 0.5]] * 3, dtype=np.float32)
    with np.errstate(invalid="ignore"):
        out, x, ref, tx = _run(name, a, g)
    np.testing.assert_allclose(
        out.detach().numpy(), ref.detach().numpy(), rtol=1e-6, equal_nan=True
    )
    # the all −inf row is NaN in both; the other rows' gradients agree
    assert np.isnan(out.detach().numpy()[1]).all()
    np.testing.assert_allclose(x.grad_array[[0, 2]], tx.grad.numpy()[[0, 2]], rtol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("scale", [1.0, 30.0])  # unshifted and shifted (log-softmax) rows
def test_row_path_gradcheck_float64(name, scale):
    rng = np.random.default_rng(5)
    x = cr.tensor(scale * rng.standard_normal((3, 6)), dtype="float64", requires_grad=True)
    fn = getattr(cr.functional, name)
    assert cr.gradcheck(lambda t: fn(t, dim=1), x, atol=1e-6, rtol=1e-5)


def test_confident_rows_keep_the_tiny_gradient_at_the_max():
    """1 − p at the max comes from r/(1 + r), not from 1 − p rounded: inside the unshifted
    range (max 15, rest about e^−30) as well as outside it."""
    for top in (15.0, 40.0):
        a = np.array([[top, -top, -top]], dtype=np.float32)
        x = cr.tensor(a, requires_grad=True)
        g = np.array([[1.0, 0.0, 0.0]], dtype=np.float32)
        cr.functional.softmax(x, dim=1).backward(g)
        rest = 2 * np.exp(-2.0 * top)  # p_max·(1 − p_max) with p_max = 1/(1 + rest)
        np.testing.assert_allclose(x.grad_array[0, 0], rest / (1 + rest) ** 2, rtol=1e-5)
        y = cr.tensor(a, requires_grad=True)
        out = cr.functional.log_softmax(y, dim=1)
        np.testing.assert_allclose(out.detach().numpy()[0, 0], -np.log1p(rest), rtol=1e-5)
        out.backward(g)
        np.testing.assert_allclose(y.grad_array[0, 0], rest / (1 + rest), rtol=1e-5)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize(("shape", "dim"), [((0, 4), 0), ((3, 0), -1), ((0, 4), 1), ((2, 0, 3), 1)])
def test_softmax_of_an_empty_tensor_is_empty_as_torch(name, shape, dim):
    # over a zero-length axis there was no maximum to find: NumPy's argmax ValueError
    x = cr.zeros(*shape, requires_grad=True)
    ours = getattr(cr.nn.functional, name)(x, dim=dim)
    theirs = getattr(torch.nn.functional, name)(torch.zeros(*shape), dim=dim)
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == "float32"
    ours.sum().backward()
    assert x.grad.shape == shape
