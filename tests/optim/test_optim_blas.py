"""The optimizers' one-pass update through BLAS axpy (chainrule._blas).

Where NumPy's wheel brings its OpenBLAS, a parameter of MIN_SIZE elements or more is updated
as θ + a·g rounded once, which is what PyTorch's ``add_(…, alpha=…)`` computes: SGD's updates
then equal PyTorch's bit for bit. Without it, or for a small, non-contiguous or integer array,
NumPy's two-pass update runs instead.
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import _blas, optim

SHAPE = (256, 130)  # 33,280 elements: above MIN_SIZE
assert SHAPE[0] * SHAPE[1] >= _blas.MIN_SIZE


needs_blas = pytest.mark.skipif(
    not _blas._load(), reason="NumPy's OpenBLAS was not found: the two-pass update runs"
)


@pytest.fixture
def no_blas(monkeypatch):
    monkeypatch.setattr(_blas, "_routines", {})


def _fma(y, a, x):
    """y + a·x rounded once to float32 (float64 holds the exact product and sum of float32s
    up to one rounding, which is as good as a true fused multiply-add here)."""
    exact = y.astype(np.float64) + np.float64(np.float32(a)) * x.astype(np.float64)
    return exact.astype(np.float32)


def test_numpy_wheels_openblas_is_found():
    # NumPy from PyPI (what CI and the README install) bundles it; a NumPy built against another
    # BLAS would skip the other tests' BLAS path and take the two-pass update
    if "scipy-openblas" not in str(np.show_config(mode="dicts")["Build Dependencies"]["blas"]):
        pytest.skip("this NumPy is not built with the scipy-openblas wheel")
    routines = _blas._load()
    assert set(routines) == {np.dtype(np.float32), np.dtype(np.float64)}


@needs_blas
def test_axpy_rounds_once_in_place():
    rng = np.random.default_rng(0)
    y, x = rng.standard_normal((2, *SHAPE)).astype(np.float32)
    want = _fma(y, -0.1, x)
    two_pass = y + x * np.float32(-0.1)
    assert not np.array_equal(want, two_pass)  # the two roundings really differ somewhere
    before = y.ctypes.data
    assert _blas.axpy(-0.1, x, y)
    np.testing.assert_array_equal(y, want)
    assert y.ctypes.data == before  # in place


@pytest.mark.parametrize(
    "case",
    ["small", "int", "strided", "mixed dtype", "read-only", "same array"],
)
def test_axpy_declines_and_leaves_y_alone(case):
    rng = np.random.default_rng(1)
    y, x = rng.standard_normal((2, *SHAPE)).astype(np.float32)
    if case == "small":
        y, x = y[:2, :3].copy(), x[:2, :3].copy()
    elif case == "int":
        y, x = (y * 10).astype(np.int32), (x * 10).astype(np.int32)
    elif case == "strided":
        y = np.asfortranarray(y)
    elif case == "mixed dtype":
        x = x.astype(np.float64)
    elif case == "read-only":
        y.flags.writeable = False
    else:
        x = y
    before = y.copy()
    assert not _blas.axpy(0.5, x, y)
    np.testing.assert_array_equal(y, before)


def test_switched_off_by_the_environment(monkeypatch):
    monkeypatch.setenv("CHAINRULE_BLAS_AXPY", "0")
    monkeypatch.setattr(_blas, "_routines", None)
    assert _blas._load() == {}


def test_without_blas_nothing_is_done(no_blas):
    y = np.ones(SHAPE, np.float32)
    assert not _blas.axpy(1.0, y.copy(), y)
    assert (y == 1).all()


def _train(opt_name, kwargs, steps=4, dtype=np.float32):
    rng = np.random.default_rng(2)
    w0 = rng.standard_normal(SHAPE).astype(dtype)
    grads = [rng.standard_normal(SHAPE).astype(dtype) for _ in range(steps)]
    w = cr.tensor(w0.copy(), dtype=dtype, requires_grad=True)
    opt = getattr(optim, opt_name)([w], **kwargs)
    for g in grads:
        w.grad = cr.tensor(g.copy(), dtype=dtype)
        opt.step()
    return w0, grads, w.array


SGD_SETTINGS = [
    dict(lr=0.1),
    dict(lr=0.1, momentum=0.9),
    dict(lr=0.1, momentum=0.9, nesterov=True),
    dict(lr=0.1, weight_decay=0.01),
    dict(lr=0.1, momentum=0.9, weight_decay=0.01, dampening=0.1),
]


@needs_blas
@pytest.mark.parametrize("kwargs", SGD_SETTINGS, ids=str)
def test_sgd_equals_pytorch_bit_for_bit(kwargs):
    torch = pytest.importorskip("torch")
    w0, grads, mine = _train("SGD", kwargs)
    tw = torch.tensor(w0.copy(), requires_grad=True)
    opt = torch.optim.SGD([tw], **kwargs)
    for g in grads:
        tw.grad = torch.tensor(g.copy())
        opt.step()
    np.testing.assert_array_equal(mine, tw.detach().numpy())


@pytest.mark.parametrize("kwargs", SGD_SETTINGS, ids=str)
def test_sgd_without_blas_is_the_same_update_to_the_last_bit_or_two(kwargs, monkeypatch):
    _, _, with_blas = _train("SGD", kwargs)
    monkeypatch.setattr(_blas, "_routines", {})
    _, _, without = _train("SGD", kwargs)
    np.testing.assert_allclose(without, with_blas, rtol=1e-6, atol=1e-6)


@needs_blas
def test_float64_parameters_use_daxpy(monkeypatch):
    calls = []
    _blas.axpy(1.0, np.zeros(SHAPE), np.zeros(SHAPE))  # load the routines
    daxpy = _blas._routines[np.dtype(np.float64)]
    monkeypatch.setitem(
        _blas._routines, np.dtype(np.float64), lambda *a, **k: calls.append(1) or daxpy(*a, **k)
    )
    w0, grads, mine = _train("SGD", dict(lr=0.1), steps=1, dtype=np.float64)
    assert mine.dtype == np.float64
    assert calls == [1]
    np.testing.assert_allclose(mine, w0 - 0.1 * grads[0], rtol=0, atol=1e-15)


@needs_blas
def test_manual_add_with_alpha_equals_pytorch_bit_for_bit():
    """The hand-written SGD step ``p.add_(p.grad, alpha=-lr)`` rounds once, as in PyTorch."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    w0, g = rng.standard_normal((2, *SHAPE)).astype(np.float32)
    p, tp = cr.tensor(w0.copy(), requires_grad=True), torch.tensor(w0.copy(), requires_grad=True)
    p.grad, tp.grad = cr.tensor(g.copy()), torch.tensor(g.copy())
    with cr.no_grad():
        p.add_(p.grad, alpha=-0.1)
        p.data.sub_(p.grad, alpha=0.05)
    with torch.no_grad():
        tp.add_(tp.grad, alpha=-0.1)
        tp.data.sub_(tp.grad, alpha=0.05)
    np.testing.assert_array_equal(p.array, tp.detach().numpy())
    assert p._version == tp._version == 1  # add_ ticks the clock; .data has its own, as in PyTorch
    with pytest.raises(cr.errors.GraphError, match="in place"):
        p.add_(p.grad, alpha=-0.1)  # a leaf that requires grad, outside no_grad


def test_manual_add_with_alpha_without_blas_is_the_two_pass_update(no_blas):
    w = cr.tensor(np.ones(SHAPE, np.float32))
    w.add_(cr.tensor(np.full(SHAPE, 3.0, np.float32)), alpha=0.5)
    w.sub_(np.full(SHAPE, 1.0, np.float32), alpha=2)
    assert (w.array == 0.5).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_address_is_the_first_elements_address(dtype):
    # axpy hands BLAS raw addresses: a wrong one would update the wrong memory
    base = np.arange(40, dtype=dtype).reshape(4, 10)
    view = base[1:]  # C-contiguous, starting one row in
    frozen = base.copy()
    frozen.flags.writeable = False  # the slow way (no writable buffer to view)
    for array in (base, view, frozen):
        assert _blas.address(array) == array.ctypes.data


@needs_blas
def test_axpy_reads_a_read_only_gradient():
    rng = np.random.default_rng(3)
    y = rng.standard_normal(SHAPE).astype(np.float32)
    x = rng.standard_normal(SHAPE).astype(np.float32)
    x.flags.writeable = False
    expected = _fma(y, -0.1, x)
    assert _blas.axpy(-0.1, x, y)
    np.testing.assert_array_equal(y, expected)


@needs_blas
def test_axpy_refuses_memory_it_reads_and_writes():
    # BLAS would read values it had already overwritten: the caller's two-pass update runs
    base = np.arange(2 * SHAPE[0] * SHAPE[1], dtype=np.float32).reshape(2 * SHAPE[0], SHAPE[1])
    y = base[: SHAPE[0]]
    overlapping = base[SHAPE[0] // 2 : SHAPE[0] // 2 + SHAPE[0]]
    before = base.copy()
    assert not _blas.axpy(0.5, overlapping, y)
    assert not _blas.axpy(0.5, y, y)
    owner = before.copy()
    assert not _blas.axpy(0.5, owner, owner)  # one array that owns its memory, as both
    np.testing.assert_array_equal(base, before)
    np.testing.assert_array_equal(owner, before)
