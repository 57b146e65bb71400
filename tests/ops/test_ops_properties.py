"""Hypothesis property tests: random broadcastable shapes and random axes, gradients checked
against finite differences (and forward values against NumPy)."""

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import chainrule as cr  # noqa: E402

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True)

BINARY_OPS = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a**b, np.power),
    "maximum": (cr.maximum, np.maximum),
    "minimum": (cr.minimum, np.minimum),
}


def _array(shape, seed, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, shape)


@pytest.mark.parametrize("name", sorted(BINARY_OPS))
@SETTINGS
@given(
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_binary_ops_on_broadcast_shapes(name, shapes, seed):
    ours, reference = BINARY_OPS[name]
    a_shape, b_shape = shapes.input_shapes
    a = _array(a_shape, seed)
    b = _array(b_shape, seed + 1)
    if name in ("div", "pow"):
        b = np.where(np.abs(b) < 0.2, 0.5, b)
    if name == "pow":
        a = np.abs(a) + 0.5
    if name in ("maximum", "minimum"):  # keep the pairs apart from ties for finite differences
        b = b + np.where(np.abs(np.subtract(a, b)) < 1e-3, 0.01, 0.0)
    x = cr.tensor(a, dtype="float64", requires_grad=True)
    y = cr.tensor(b, dtype="float64", requires_grad=True)
    out = ours(x, y)
    assert out.shape == shapes.result_shape
    np.testing.assert_allclose(out.data, reference(a, b), rtol=1e-12)
    assert cr.gradcheck(ours, x, y, atol=1e-6, rtol=1e-5)


@st.composite
def shape_and_axes(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=3))
    axes = draw(
        st.none()
        | st.integers(-len(shape), len(shape) - 1)
        | st.lists(
            st.integers(0, len(shape) - 1), min_size=1, max_size=len(shape), unique=True
        ).map(tuple)
    )
    return shape, axes, draw(st.booleans())


REDUCTIONS = {
    "sum": (cr.sum, np.sum),
    "mean": (cr.mean, np.mean),
    "max": (cr.max, np.max),
    "min": (cr.min, np.min),
    "var": (
        lambda x, axis, keepdims: cr.var(x, axis=axis, keepdims=keepdims, correction=0),
        np.var,
    ),
    "logsumexp": (
        cr.logsumexp,
        lambda a, axis, keepdims: np.log(np.sum(np.exp(a), axis=axis, keepdims=keepdims)),
    ),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@SETTINGS
@given(case=shape_and_axes(), seed=st.integers(0, 2**16))
def test_reductions_over_random_axes(name, case, seed):
    shape, axes, keepdims = case
    ours, reference = REDUCTIONS[name]
    a = np.random.default_rng(seed).permutation(np.prod(shape)).reshape(shape) * 0.1
    a = a + np.random.default_rng(seed).uniform(0, 0.01, shape)  # distinct: no ties
    x = cr.tensor(a, dtype="float64", requires_grad=True)
    out = ours(x, axis=axes, keepdims=keepdims)
    np.testing.assert_allclose(out.data, reference(a, axis=axes, keepdims=keepdims), rtol=1e-12)
    assert cr.gradcheck(lambda t: ours(t, axis=axes, keepdims=keepdims), x, atol=1e-6, rtol=1e-5)


@SETTINGS
@given(
    shape=hnp.array_shapes(min_dims=1, max_dims=3, max_side=4),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_softmax_family_on_random_axes(shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = cr.tensor(_array(shape, seed, -30, 30), dtype="float64", requires_grad=True)
    p = cr.functional.softmax(x, axis)
    np.testing.assert_allclose(p.data.sum(axis=axis), 1.0, rtol=1e-12)
    np.testing.assert_allclose(
        np.log(p.data), cr.functional.log_softmax(x, axis).data, rtol=1e-9, atol=1e-12
    )
    assert cr.gradcheck(lambda t: cr.functional.log_softmax(t, axis), x, atol=1e-6, rtol=1e-5)
