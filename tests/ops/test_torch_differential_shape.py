"""Differential trial of chainrule against PyTorch: indexing (where, gather, scatter,
scatter_add, index_select, take_along_dim, masked_fill) and shape ops (view, reshape, permute,
transpose, expand, repeat, tile, flip, roll, narrow, unfold, chunk, split, stack, cat) with
negative dims, empty and 0-d tensors. Same value, dtype and shape, the same float64 gradient,
or both raise (tests/ops/torch_differential.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from torch_differential import compare

torch = pytest.importorskip("torch")


def _x(shape, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    if dtype == "int64":
        return np.asarray(rng.integers(-5, 6, shape), dtype)
    if dtype == "bool":
        return np.asarray(rng.random(shape) > 0.5)
    return np.asarray(rng.standard_normal(shape), dtype)


def _check(fn, *arrays, **kw):
    problems = compare(fn, list(arrays), **kw)
    assert not problems, "\n".join(problems)


SHAPE_OPS = {
    "view": lambda L, x: x.view(-1),
    "view_split": lambda L, x: x.view(2, -1) if x.numel() % 2 == 0 else x.view(-1, 1),
    "reshape": lambda L, x: x.reshape(-1, 1),
    "reshape_tuple": lambda L, x: L.reshape(x, (1, -1)),
    "permute_neg": lambda L, x: x.permute(*range(-1, -x.ndim - 1, -1)) if x.ndim else x.permute(()),
    "permute_tuple": lambda L, x: L.permute(x, tuple(reversed(range(x.ndim)))),
    "transpose_neg": lambda L, x: x.transpose(0, -1) if x.ndim else x.transpose(0, -1),
    "T": lambda L, x: x.mT if x.ndim >= 2 else x,
    "expand": lambda L, x: x.unsqueeze(0).expand(3, *x.shape),
    "expand_minus1": lambda L, x: x.unsqueeze(0).expand(2, *([-1] * x.ndim)),
    "repeat": lambda L, x: x.repeat(2, *([1] * x.ndim)),
    "repeat_same": lambda L, x: x.repeat(*([2] * x.ndim)) if x.ndim else x.repeat(()),
    "tile_short": lambda L, x: x.tile((2,)),
    "tile_long": lambda L, x: L.tile(x, (2, 1, 1, 1)),
    "flip_neg": lambda L, x: x.flip(-1) if x.ndim else x.flip(0),
    "flip_all": lambda L, x: L.flip(x, tuple(range(x.ndim))),
    "roll_neg": lambda L, x: x.roll(-1, -1) if x.ndim else x.roll(1, 0),
    "roll_flat": lambda L, x: L.roll(x, 2),
    "roll_many": lambda L, x: x.roll((1, -2), (0, -1)) if x.ndim >= 2 else x.roll(3),
    "narrow": lambda L, x: x.narrow(-1, 1, 1) if x.ndim and x.shape[-1] > 1 else x,
    "narrow_neg_start": lambda L, x: L.narrow(x, 0, -1, 1) if x.ndim and x.shape[0] else x,
    "unfold": lambda L, x: x.unfold(-1, 2, 1) if x.ndim and x.shape[-1] >= 2 else x.unfold(0, 1, 1),
    "chunk": lambda L, x: x.chunk(2, -1) if x.ndim else x,
    "chunk_3": lambda L, x: L.chunk(x, 3, 0) if x.ndim else x,
    "split_int": lambda L, x: x.split(2, dim=-1) if x.ndim else x,
    "split_sizes": lambda L, x: L.split(x, [1, x.shape[0] - 1], 0) if x.ndim and x.shape[0] else x,
    "unbind": lambda L, x: x.unbind(-1) if x.ndim else x,
    "stack_neg": lambda L, x: L.stack([x, x * 2], dim=-1),
    "stack_0": lambda L, x: L.stack((x, -x), 0),
    "cat_neg": lambda L, x: L.cat([x, x + 1], dim=-1) if x.ndim else L.stack([x]),
    "cat_empty_1d": lambda L, x: L.cat([x, L.zeros(0, dtype=x.dtype)]) if x.ndim == 1 else x,
    "squeeze_neg": lambda L, x: x.unsqueeze(-1).squeeze(-1),
    "squeeze_tuple": lambda L, x: x.unsqueeze(0).unsqueeze(-1).squeeze((0, -1)),
    "unsqueeze_neg": lambda L, x: x.unsqueeze(-2) if x.ndim else x.unsqueeze(-1),
    "movedim": lambda L, x: x.movedim(0, -1) if x.ndim else x,
    "flatten": lambda L, x: x.flatten(),
    "flatten_range": lambda L, x: x.flatten(-2, -1) if x.ndim >= 2 else x.flatten(0),
    "diff": lambda L, x: L.diff(x, dim=-1) if x.ndim else x,
    "tril": lambda L, x: x.tril(-1) if x.ndim >= 2 else x,
    "contiguous": lambda L, x: x.mT.contiguous() if x.ndim >= 2 else x.contiguous(),
}
SHAPES = [(), (0,), (4,), (3, 4), (2, 3, 4), (2, 0, 3)]


@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(SHAPE_OPS))
def test_shape_op(name, shape, dtype):
    _check(SHAPE_OPS[name], _x(shape, dtype))


def test_invalid_shape_arguments_raise_in_both():
    x = _x((2, 3))
    for fn in (
        lambda L, t: t.view(4, -1),
        lambda L, t: t.reshape(-1, -1),
        lambda L, t: t.permute(0, 0),
        lambda L, t: t.permute(0),
        lambda L, t: t.transpose(0, 2),
        lambda L, t: t.expand(3, 3),
        lambda L, t: t.expand(3),
        lambda L, t: t.repeat(2),
        lambda L, t: t.flip(2),
        lambda L, t: t.roll(1, 2),
        lambda L, t: t.roll((1, 2), (0,)),
        lambda L, t: t.narrow(1, 2, 2),
        lambda L, t: t.narrow(-3, 0, 1),
        lambda L, t: t.unfold(1, 4, 1),
        lambda L, t: t.unfold(1, 2, 0),
        lambda L, t: t.chunk(0),
        lambda L, t: t.split(0),
        lambda L, t: t.split([1, 1], 1),
        lambda L, t: L.stack([t, t[:, :2]]),
        lambda L, t: L.cat([t, t[0]]),
        lambda L, t: L.cat([t, t], dim=2),
        lambda L, t: L.stack([t, t], dim=3),
        lambda L, t: L.stack([]),
        lambda L, t: t.mT.view(-1),
        lambda L, t: t.squeeze(2),
        lambda L, t: t.unsqueeze(3),
        lambda L, t: t.movedim(0, 2),
    ):
        _check(fn, x)


def test_cat_promotes_dtypes_as_torch():
    for a, b in [
        ("int64", "float32"),
        ("bool", "int64"),
        ("float32", "float64"),
        ("bool", "float64"),
    ]:
        _check(lambda L, s, t: L.cat([s, t]), _x((2,), a), _x((3,), b))
        _check(lambda L, s, t: L.stack([s, t], -1), _x((2,), a), _x((2,), b))


INDEX_OPS = {
    "gather": lambda L, x, i: x.gather(-1, i),
    "gather_0": lambda L, x, i: L.gather(x, 0, i),
    "take_along_dim": lambda L, x, i: L.take_along_dim(x, i, -1),
    "take_along_dim_0": lambda L, x, i: x.take_along_dim(i, dim=0),
    "scatter_src": lambda L, x, i: x.scatter(-1, i, x[..., : i.shape[-1]] * 10),
    "scatter_value": lambda L, x, i: x.scatter(1, i, 7.0),
    "scatter_add": lambda L, x, i: x.scatter_add(-1, i, L.ones_like(i, dtype=x.dtype)),
    "scatter_add_0": lambda L, x, i: L.scatter_add(x, 0, i, x[: i.shape[0], : i.shape[1]] * 3),
    "index_select": lambda L, x, i: x.index_select(-1, i.flatten()),
    "index_select_0": lambda L, x, i: L.index_select(x, 0, i[0]),
}


@pytest.mark.parametrize("dtype", ["float64", "int64"])
@pytest.mark.parametrize("name", sorted(INDEX_OPS))
def test_index_ops(name, dtype):
    x = _x((3, 4), dtype, 1)
    idx = np.array([[0, 2], [1, 1], [2, 0]], np.int64)  # valid along both dims
    _check(INDEX_OPS[name], x, idx)
    _check(INDEX_OPS[name], x, np.zeros((0, 0), np.int64) if "select" not in name else idx)


def test_scatter_add_duplicates_and_gradient():
    x = _x((2, 5))
    idx = np.array([[0, 0, 4], [3, 3, 3]], np.int64)
    src = _x((2, 3), seed=3)
    _check(lambda L, t, i, s: t.scatter_add(1, i, s), x, idx, src)
    _check(lambda L, t, i, s: L.scatter_add(t, -1, i, s), x, idx, src)


def test_index_errors_raise_in_both():
    x = _x((3, 4))
    for idx in (np.array([[4]]), np.array([[-1]]), np.array([[0.0]]), np.array([[0]], np.int32)):
        for fn in (
            lambda L, t, i: t.gather(1, i),
            lambda L, t, i: t.scatter(1, i, 1.0),
            lambda L, t, i: t.scatter_add(1, i, t[:1, :1]),
            lambda L, t, i: t.index_select(1, i.flatten()),
        ):
            _check(fn, x, idx)
    # PyTorch's take_along_dim reads an index out of range modulo the size (4 → 0, −5 → 3,
    # unchecked); chainrule raises ShapeError for anything outside [0, size) (docs/pytorch.md)
    for idx in (np.array([[0.0]]), np.array([[0]], np.int32)):
        _check(lambda L, t, i: t.take_along_dim(i, 1), x, idx)
    _check(lambda L, t, i: t.gather(2, i), x, np.array([[0]]))
    _check(lambda L, t, i: t.gather(0, i), x, np.zeros((4, 5), np.int64))
    _check(lambda L, t, i: t.gather(1, i), x, np.zeros((3,), np.int64))


WHERE_DTYPES = [
    ("float64", "float64"),
    ("int64", "float64"),
    ("bool", "int64"),
    ("float32", "float64"),
    ("int64", "int64"),
]


@pytest.mark.parametrize("pair", WHERE_DTYPES, ids="-".join)
def test_where_broadcast_and_promotion(pair):
    cond = _x((3, 1), "bool", 5)
    a, b = _x((1, 4), pair[0], 6), _x((3, 4), pair[1], 7)
    _check(lambda L, c, s, t: L.where(c, s, t), cond, a, b)
    _check(lambda L, c, s, t: s.where(c, t), cond, a, b)
    _check(lambda L, c, s, t: L.where(c, s, 2.5), cond, a, b)
    _check(lambda L, c, s, t: L.where(c, 2, t), cond, a, b)
    _check(lambda L, c, s, t: L.where(c, s, -1), cond, a, b)
    _check(lambda L, c: L.where(c), cond)
    _check(lambda L, c, s, t: L.where(c.int(), s, t), cond, a, b)  # PyTorch: cond must be bool


@pytest.mark.parametrize("dtype", ["float64", "int64", "bool", "float32"])
def test_masked_fill(dtype):
    x, mask = _x((3, 4), dtype, 8), _x((4,), "bool", 9)
    _check(lambda L, t, m: t.masked_fill(m, 0.5), x, mask)
    _check(lambda L, t, m: t.masked_fill(m, -2), x, mask)
    _check(lambda L, t, m: t.masked_fill(m, True), x, mask)
    _check(lambda L, t, m: L.masked_fill(t, m, L.tensor(3.0)), x, mask)
    _check(lambda L, t, m: t.masked_fill(m.int(), 1.0), x, mask)  # PyTorch: mask must be bool
    _check(lambda L, t, m: t.masked_fill(m[:3], 1.0), x, mask)  # no broadcast: both raise
    _check(lambda L, t, m: t.masked_fill(m, L.ones(2)), x, mask)  # value must be 0-d


def test_masked_fill_gradient_of_tensor_value():
    x, mask, v = _x((3, 4)), _x((3, 4), "bool", 10), np.array(2.0)
    _check(lambda L, t, m, val: t.masked_fill(m, val), x, mask, v)
