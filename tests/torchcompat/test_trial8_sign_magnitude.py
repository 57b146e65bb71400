"""``sgn``, ``signbit``, ``frac``, ``copysign`` and ``hypot`` (were refused as not
supported): values, dtypes, gradients and errors against PyTorch, with ±0, NaN and ∞ among
the inputs."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

SPECIAL = [0.0, -0.0, np.nan, np.inf, -np.inf, 1.5, -2.25, -np.nan]
DTYPES = ["float32", "float64", "int64", "bool"]


def _array(dtype, shape=(8,), seed=0):
    if dtype == "bool":
        return np.resize([True, False, True], shape)
    if dtype == "int64":
        return np.resize(np.array([-3, 0, 2, 5], dtype=np.int64), shape)
    rng = np.random.default_rng(seed)
    out = rng.standard_normal(shape).astype(dtype)
    out.ravel()[: min(out.size, len(SPECIAL))] = SPECIAL[: out.size]
    return out


def _leaf(lib, array):
    floats = array.dtype.kind == "f"
    if lib is torch:
        return torch.tensor(array, requires_grad=floats)
    return cr.tensor(array, dtype=array.dtype, requires_grad=floats)


def _numpy(lib, grad):
    if grad is None:
        return None
    return grad.numpy(force=True) if lib is torch else grad.numpy()


def _run(lib, fn, arrays):
    leaves = [_leaf(lib, a) for a in arrays]
    try:
        out = fn(lib, *leaves)
    except Exception as err:  # noqa: BLE001 - the class is the comparison
        return err, None
    grads = None
    if out.requires_grad:
        w = np.linspace(-1, 1, out.numel()).reshape(tuple(out.shape)).astype(str(out.dtype)[-7:])
        weight = torch.tensor(w) if lib is torch else cr.tensor(w, dtype=w.dtype)
        (out * weight).sum().backward()
        grads = [_numpy(lib, t.grad) for t in leaves if t.requires_grad]
    return out, grads


def _compare(fn, arrays):
    co, cg = _run(cr, fn, arrays)
    to, tg = _run(torch, fn, arrays)
    if isinstance(to, Exception):
        assert isinstance(co, type(to)), (co, to)
        return
    assert not isinstance(co, Exception), co
    assert str(co.dtype) == str(to.dtype).replace("torch.", "")
    assert co.shape == tuple(to.shape)
    np.testing.assert_array_equal(co.detach().numpy(), to.detach().numpy())
    if tg is not None:
        for c, t in zip(cg, tg):
            np.testing.assert_allclose(c, t, rtol=1e-6, equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["sgn", "signbit", "frac"])
def test_unary_matches_torch(name, dtype):
    _compare(lambda L, x: getattr(L, name)(x), [_array(dtype)])
    _compare(lambda L, x: getattr(x, name)(), [_array(dtype, (2, 4))])


@pytest.mark.parametrize("da", DTYPES)
@pytest.mark.parametrize("db", DTYPES)
@pytest.mark.parametrize("shapes", [((8,), (8,)), ((2, 8), (8,)), ((4, 1, 8), (2, 1)), ((), ())])
@pytest.mark.parametrize("name", ["copysign", "hypot"])
def test_binary_matches_torch(name, da, db, shapes):
    arrays = [_array(da, shapes[0], 0), _array(db, shapes[1], 1)]
    _compare(lambda L, a, b: getattr(L, name)(a, b), arrays)
    _compare(lambda L, a, b: getattr(a, name)(b), arrays)


def test_hypot_wants_tensors_copysign_takes_numbers():
    x = np.array([1.0, -2.0])
    _compare(lambda L, a: L.hypot(a, 2.0), [x])
    _compare(lambda L, a: L.copysign(a, -0.0), [x])
    _compare(lambda L, a: a.copysign(-1), [x])


def test_hypot_has_no_overflow_in_between():
    big = cr.tensor([3e30], dtype="float32")
    want = torch.hypot(torch.tensor([3e30]), torch.tensor([3e30])).item()
    assert cr.hypot(big, big).item() == pytest.approx(want)
