"""``torch.rsub`` (with ``alpha=``), ``clamp_min``/``clamp_max`` (functions, methods, in-place
forms) and ``alpha=``'s dtype checks in add/sub, against torch 2.13: values, dtypes, grad_fn
names, gradients (also float64 finite differences and second derivatives) and errors."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_RNG = np.random.default_rng(3)
_X = _RNG.standard_normal((4, 3))
_B = _RNG.standard_normal(3)  # a tensor bound, broadcast over rows
_X[0, 0] = _B[0]  # a tie with the tensor bound
_X[1, 1] = 0.25  # a tie with the number bound

CASES = [
    "L.clamp_min(x, 0.25)", "x.clamp_min(0.25)", "L.clamp_max(x, 0.25)", "x.clamp_max(0.25)",
    "L.clamp_min(x, b)", "x.clamp_min(b)", "L.clamp_max(x, b)", "x.clamp_max(b)",
    "L.clamp_min(x, b[:1])", "L.clamp_max(b, x)", "L.clamp(x, min=b)", "L.clamp(x, max=b)",
    "L.clamp(x, b, b + 1)",
    "L.rsub(x, 2.0)", "L.rsub(x, 2, alpha=3)", "L.rsub(x, 2.5, alpha=-0.5)", "L.rsub(x, b)",
    "L.rsub(x, b, alpha=2)", "L.rsub(b, x, alpha=0.5)",
]  # fmt: skip


def _scope(lib, dtype="float64"):
    dtype = getattr(lib, dtype)
    x = lib.tensor(_X, dtype=dtype, requires_grad=True)
    b = lib.tensor(_B, dtype=dtype, requires_grad=True)
    return {"L": lib, "x": x, "b": b}


@pytest.mark.parametrize("code", CASES)
def test_values_names_and_gradients_match_torch(code):
    results = []
    for lib in (torch, cr):
        scope = _scope(lib)
        y = eval(code, scope)
        weights = lib.tensor(np.arange(1.0, y.numel() + 1).reshape(tuple(y.shape)))
        (y * weights.to(y.dtype)).sum().backward()
        grads = [None if t.grad is None else t.grad.numpy().copy() for t in scope.values()
                 if isinstance(t, lib.Tensor)]  # fmt: skip
        results.append((y.grad_fn.name(), str(y.dtype).split(".")[-1], y.detach().numpy(), grads))
    (name_t, dtype_t, value_t, grads_t), (name_c, dtype_c, value_c, grads_c) = results
    assert (name_c, dtype_c) == (name_t, dtype_t)
    np.testing.assert_allclose(value_c, value_t, rtol=1e-12)
    for ours, theirs in zip(grads_c, grads_t):
        assert (ours is None) == (theirs is None)
        if theirs is not None:
            np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("code", [c for c in CASES if "b" in c or "rsub" in c])
def test_gradients_match_finite_differences_and_second_order(code):
    def fn(x, b):
        return eval(code, {"L": cr, "x": x, "b": b})

    x = cr.tensor(_X + 0.1, dtype=cr.float64, requires_grad=True)  # away from the ties
    b = cr.tensor(_B - 0.05, dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(fn, x, b)
    assert cr.gradgradcheck(lambda x, b: fn(x, b) * x, x, b)


DTYPE_CASES = [
    "L.clamp_min(i, 2)", "L.clamp_min(i, 1.5)", "L.clamp_max(i, 2.5)", "i.clamp_min(f)",
    "L.clamp_min(f, d)", "L.clamp_max(h, 0.5)", "L.clamp_min(h, 2)", "L.rsub(i, 2)",
    "L.rsub(i, 2.5)", "L.rsub(i, 2, alpha=3)", "L.rsub(i, 2.5, alpha=2)", "L.rsub(h, 1)",
    "L.rsub(i, f)", "L.rsub(f, d, alpha=2)", "L.rsub(i, i, alpha=-1)", "L.add(i, i, alpha=2)",
    "L.sub(i, 3, alpha=2)", "L.add(f, 1, alpha=1.5)", "L.add(u, u, alpha=True)",
    "i.add(i, alpha=2)", "i.sub(2, alpha=2)",
]  # fmt: skip


def _dtype_scope(lib):
    return {
        "L": lib,
        "i": lib.tensor([1, 2, 3]),
        "h": lib.tensor([0.5, 1.5, 3.0], dtype=lib.float32),
        "f": lib.tensor([0.5, 2.5, 2.0]),
        "d": lib.tensor([1.0, 1.0, 4.0], dtype=lib.float64),
        "u": lib.tensor([True, False, True]),
    }


@pytest.mark.parametrize("code", DTYPE_CASES)
def test_dtypes_follow_torch(code):
    theirs = eval(code, _dtype_scope(torch))
    ours = eval(code, _dtype_scope(cr))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


ALPHA_ERRORS = [
    "L.rsub(i, 2, alpha=1.5)", "L.add(i, i, alpha=0.5)", "L.sub(i, 2, alpha=2.0)",
    "i.add(i, alpha=1.0)", "i.sub(3, alpha=0.5)", "L.add(f, f, alpha=True)",
    "L.rsub(i, i, alpha=2.5)",
]  # fmt: skip


@pytest.mark.parametrize("code", ALPHA_ERRORS)
def test_alpha_that_does_not_fit_the_dtype_raises_as_torch(code):
    with pytest.raises(RuntimeError) as theirs:
        eval(code, _dtype_scope(torch))
    with pytest.raises(cr.DTypeError) as ours:
        eval(code, _dtype_scope(cr))
    assert str(ours.value) == str(theirs.value)


def test_in_place_forms():
    for lib in (torch, cr):
        y = lib.tensor([1.0, -2.0, 3.0])
        assert y.clamp_min_(0.0) is y and y.tolist() == [1.0, 0.0, 3.0]
        assert y.clamp_max_(lib.tensor([2.0, 2.0, 2.5])) is y and y.tolist() == [1.0, 0.0, 2.5]
        with pytest.raises(RuntimeError if lib is torch else cr.DTypeError):
            lib.tensor([1, 2]).clamp_min_(1.5)  # a float result does not fit in place
        with pytest.raises(RuntimeError if lib is torch else cr.GraphError):
            lib.tensor([1.0], requires_grad=True).clamp_max_(0.0)
    with pytest.raises(TypeError):
        cr.clamp_min(cr.tensor([1.0]), None)
    with pytest.raises(TypeError):
        cr.tensor([1.0]).clamp_max(None)


@pytest.mark.parametrize(
    "code",
    ["i.bitwise_and(3)", "i.bitwise_or(i)", "i.bitwise_xor(-2)", "i.bitwise_not()",
     "u.bitwise_and(u.flip(0))", "u.bitwise_not()", "u.bitwise_xor(True)"],
)  # fmt: skip
def test_bitwise_methods_by_name_match_torch(code):
    def scope(lib):
        return {"i": lib.tensor([3, -5, 7, 0]), "u": lib.tensor([True, False, True, False])}

    theirs, ours = eval(code, scope(torch)), eval(code, scope(cr))
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
