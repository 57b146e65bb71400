"""Differential trial of chainrule against PyTorch: elementwise math and dtype promotion
(bool/int/float, Python scalars, 0-d tensors), integer division with negatives, comparisons,
clamp with tensor bounds and round(decimals=). Same value, dtype and shape, the same gradient
in float64, or both raise (tests/ops/torch_differential.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from torch_differential import compare

torch = pytest.importorskip("torch")

SHAPES = [(), (0,), (3,), (2, 3), (2, 0, 3), (2, 3, 4)]
DTYPES = ["bool", "int64", "int32", "uint8", "float32", "float64"]


def _array(shape, dtype, seed=0, low=-5, high=6):
    rng = np.random.default_rng(seed)
    if dtype == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    if dtype == "uint8":
        return np.asarray(rng.integers(0, high, shape), dtype)
    if dtype.startswith("int"):
        return np.asarray(rng.integers(low, high, shape), dtype)
    return np.asarray(rng.standard_normal(shape) * 3, dtype)


def _nonzero(shape, dtype, seed=1):
    a = _array(shape, dtype, seed)
    if dtype == "bool":
        return np.ones(shape, bool)
    return np.where(a == 0, a.dtype.type(3), a)


def _check(fn, *arrays, **kw):
    problems = compare(fn, list(arrays), **kw)
    assert not problems, "\n".join(problems)


UNARY = {
    "abs": lambda L, x: x.abs(),
    "neg": lambda L, x: -x,
    "exp": lambda L, x: x.exp(),
    "sin": lambda L, x: L.sin(x),
    "tanh": lambda L, x: x.tanh(),
    "sigmoid": lambda L, x: x.sigmoid(),
    "floor": lambda L, x: x.floor(),
    "ceil": lambda L, x: L.ceil(x),
    "trunc": lambda L, x: x.trunc(),
    "round": lambda L, x: x.round(),
    "round_dec2": lambda L, x: x.round(decimals=2),
    "round_dec-1": lambda L, x: L.round(x, decimals=-1),
    "sign": lambda L, x: x.sign(),
    "square": lambda L, x: x.square(),
    "erf": lambda L, x: L.erf(x),
    "frac": lambda L, x: x.frac(),
    "reciprocal": lambda L, x: x.reciprocal(),
    "log_abs": lambda L, x: x.abs().log(),
    "sqrt_abs": lambda L, x: x.abs().sqrt(),
    "log1p_abs": lambda L, x: L.log1p(x.abs()),
    "expm1": lambda L, x: x.expm1(),
    "rsqrt_abs": lambda L, x: x.abs().rsqrt(),
    "bitwise_not": lambda L, x: ~x,
    "logical_not": lambda L, x: L.logical_not(x),
    "isnan": lambda L, x: x.isnan(),
    "nan_to_num": lambda L, x: L.nan_to_num(x / 0.0, posinf=7.0),
}


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary(name, dtype, shape):
    _check(UNARY[name], _array(shape, dtype))


BINARY = {
    "add": lambda L, a, b: a + b,
    "sub": lambda L, a, b: a - b,
    "mul": lambda L, a, b: a * b,
    "truediv": lambda L, a, b: a / b,
    "floordiv": lambda L, a, b: a // b,
    "mod": lambda L, a, b: a % b,
    "pow": lambda L, a, b: a**b,
    "eq": lambda L, a, b: a == b,
    "lt": lambda L, a, b: a < b,
    "ge": lambda L, a, b: a >= b,
    "maximum": lambda L, a, b: L.maximum(a, b),
    "minimum": lambda L, a, b: L.minimum(a, b),
    "floor_divide": lambda L, a, b: L.floor_divide(a, b),
    "remainder": lambda L, a, b: L.remainder(a, b),
    "fmod": lambda L, a, b: L.fmod(a, b),
    "div_trunc": lambda L, a, b: L.div(a, b, rounding_mode="trunc"),
    "div_floor": lambda L, a, b: a.div(b, rounding_mode="floor"),
    "atan2": lambda L, a, b: L.atan2(a, b),
    "bitand": lambda L, a, b: a & b,
    "logical_xor": lambda L, a, b: L.logical_xor(a, b),
    "copysign": lambda L, a, b: L.copysign(a, b),  # uint8 with −3: lost the sign (fixed)
}
PAIRS = [(a, b) for a in DTYPES for b in DTYPES if DTYPES.index(a) <= DTYPES.index(b)]


@pytest.mark.parametrize("pair", PAIRS, ids="-".join)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_dtype_mix(name, pair):
    a, b = _array((2, 3), pair[0], 2), _nonzero((3,), pair[1], 3)
    if name == "pow" and pair[1] in ("int64", "int32"):
        b = np.abs(b)  # a negative integer power of an integer is an error in both
    # PyTorch's atan2 gradient negates a uint8 input in uint8 (wraps) and rounds through
    # float32 for a float32 partner: chainrule's is exact, so values only there
    grad = name != "atan2" or pair[0] == pair[1]
    _check(BINARY[name], a, b, grad=grad)
    _check(BINARY[name], b, a if name != "pow" else np.abs(a), grad=grad)


TENSOR_ONLY = ("maximum", "minimum", "atan2", "logical_xor")
SCALARS = [2, -3, 2.5, -0.5, True, 0]


@pytest.mark.parametrize("scalar", SCALARS, ids=repr)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_python_scalar(name, dtype, scalar):
    x = _array((2, 3), dtype, 4)
    if name == "pow" and dtype not in ("float32", "float64"):
        x = np.abs(x)
    fn = BINARY[name]
    if name in TENSOR_ONLY:
        pytest.skip("torch refuses a number here; chainrule takes it (docs/pytorch.md)")
    _check(lambda L, t: fn(L, t, scalar), x)
    if name not in (
        "maximum",
        "minimum",
        "atan2",
        "logical_xor",
        "fmod",
        "floor_divide",
        "copysign",
    ):
        _check(lambda L, t: fn(L, scalar, t), _nonzero((2, 3), dtype, 5))


@pytest.mark.parametrize("zero_d", ["int64", "float64", "bool", "float32"])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", ["add", "mul", "truediv", "floordiv", "mod", "maximum", "lt"])
def test_binary_zero_dim_tensor(name, dtype, zero_d):
    """A 0-d tensor takes part in promotion like a number of its kind (PyTorch's rule)."""
    fn = BINARY[name]
    _check(fn, _array((2, 3), dtype, 6), _nonzero((), zero_d, 7))
    _check(fn, _nonzero((), zero_d, 8), _nonzero((2, 3), dtype, 9))


@pytest.mark.parametrize("dtype", ["int64", "int32", "float64"])
@pytest.mark.parametrize("name", ["floordiv", "mod", "floor_divide", "remainder", "fmod"])
def test_integer_division_negatives(name, dtype):
    a = np.array([-7, -6, -1, 0, 1, 6, 7, -7, 7], dtype)
    b = np.array([2, -2, 3, -3, 5, 4, -4, -7, 7], dtype)
    _check(BINARY[name], a, b)
    _check(lambda L, t: BINARY[name](L, t, -3), a)


def test_integer_division_by_zero_raises_in_both():
    a, b = np.array([1, -1], np.int64), np.array([0, 0], np.int64)
    _check(BINARY["floordiv"], a, b)
    _check(BINARY["mod"], a, b)


CLAMP = {
    "tensor_bounds": lambda L, x, lo, hi: x.clamp(lo, hi),
    "min_only": lambda L, x, lo, hi: L.clamp(x, min=lo),
    "max_only": lambda L, x, lo, hi: x.clamp(max=hi),
    "crossed": lambda L, x, lo, hi: x.clamp(hi, lo),
    "clip": lambda L, x, lo, hi: x.clip(lo, hi),
}


@pytest.mark.parametrize(
    "dtypes",
    [("float64", "float64"), ("int64", "int64"), ("int64", "float64"), ("float32", "float64")],
    ids="-".join,
)
@pytest.mark.parametrize("name", sorted(CLAMP))
def test_clamp_tensor_bounds(name, dtypes):
    x = _array((2, 3), dtypes[0], 10)
    lo = _array((3,), dtypes[1], 11) - 1
    hi = lo + np.array([2, 0, 3], dtypes[1])
    _check(CLAMP[name], x, lo, hi)


@pytest.mark.parametrize("dtype", ["int64", "float32", "float64"])
def test_clamp_number_bounds(dtype):
    x = _array((2, 3), dtype, 12)
    _check(lambda L, t: t.clamp(-1.5, 2.5), x)
    _check(lambda L, t: t.clamp(min=-1), x)
    _check(lambda L, t: L.clamp(t), x)  # neither bound: PyTorch raises


SHAPE_PAIRS = [
    ((), ()),
    ((0,), ()),
    ((0, 3), (3,)),
    ((2, 0), (2, 1)),
    ((), (2, 3)),
    ((4, 1), (1, 3)),
]
SHAPE_PAIRS += [((2, 3), (3, 2))]  # does not broadcast: both raise


@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
@pytest.mark.parametrize(
    "dtypes", [("float64", "float64"), ("int64", "float32"), ("bool", "int32")]
)
@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_shapes_empty_and_zero_dim(name, dtypes, shapes):
    a = _array(shapes[0], dtypes[0], 13)
    b = _nonzero(shapes[1], dtypes[1], 14)
    if name == "pow":  # (np.abs of a 0-d array is a NumPy scalar: keep arrays)
        a, b = np.asarray(np.abs(a)), np.asarray(np.abs(b))
    _check(BINARY[name], a, b)
