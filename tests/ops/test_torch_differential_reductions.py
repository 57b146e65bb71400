"""Differential trial of chainrule against PyTorch: reductions with dim tuples, negative dims,
keepdim and dtype=; max/min/median/mode/kthvalue/topk/sort (values and indices); cumulative
ops; var/std with correction. Same value, dtype and shape, the same float64 gradient, or both
raise (tests/ops/torch_differential.py).

Ties: inputs without ties are compared fully. With ties, ``sort(stable=True)`` and
``argsort(stable=True)`` must give PyTorch's indices; ``max``/``min``/``median``/``mode``/
``kthvalue`` with ties are checked by value, and their index must point at an equal value
(PyTorch documents no rule for which tied index these return).
"""

from __future__ import annotations

import numpy as np
import pytest
from torch_differential import compare

import chainrule as cr

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.filterwarnings("ignore:.*degrees of freedom")

SHAPES = [(), (0,), (5,), (3, 4), (2, 0, 3), (2, 3, 4)]


def _distinct(shape, dtype="float64", seed=0):
    """No ties: a permutation of 0..n-1, shifted and scaled."""
    n = int(np.prod(shape))
    perm = np.random.default_rng(seed).permutation(n).reshape(shape)
    if dtype.startswith("int"):
        return np.asarray(perm - n // 2, dtype)
    return np.asarray((perm - n / 2) * 0.37, dtype)


def _check(fn, *arrays, **kw):
    problems = compare(fn, list(arrays), **kw)
    assert not problems, "\n".join(problems)


def _dims(shape):
    """Every dim argument worth trying for this shape: None, each dim both ways, tuples."""
    nd = len(shape)
    dims = [None] + [d for i in range(nd) for d in (i, i - nd)]
    if nd == 0:
        dims += [0, -1, (), (0,)]
    if nd >= 2:
        dims += [(0, -1), (-1, 0), (-2,), (0, 1)]
    return dims


REDUCE = {
    "sum": lambda L, x, d, k: x.sum(dim=d, keepdim=k) if d is not None else x.sum(),
    "mean": lambda L, x, d, k: x.mean(dim=d, keepdim=k) if d is not None else x.mean(),
    "amax": lambda L, x, d, k: x.amax(dim=d if d is not None else (), keepdim=k),
    "amin": lambda L, x, d, k: L.amin(x, dim=d if d is not None else (), keepdim=k),
    "logsumexp": lambda L, x, d, k: L.logsumexp(
        x, dim=tuple(range(x.ndim)) if d is None else d, keepdim=k
    ),
    "nansum": lambda L, x, d, k: L.nansum(x, dim=d, keepdim=k),
    "var": lambda L, x, d, k: x.var(dim=d, keepdim=k),
    "std": lambda L, x, d, k: x.std(dim=d, keepdim=k),
    "var_c0": lambda L, x, d, k: x.var(dim=d, correction=0, keepdim=k),
    "std_c2": lambda L, x, d, k: L.std(x, dim=d, correction=2, keepdim=k),
    "var_unbiased_false": lambda L, x, d, k: x.var(d, unbiased=False, keepdim=k),
    "count_nonzero": lambda L, x, d, k: L.count_nonzero(x, dim=d),
    "all": lambda L, x, d, k: x.all(dim=d, keepdim=k) if d is not None else x.all(),
    "any": lambda L, x, d, k: x.any(dim=d, keepdim=k) if d is not None else x.any(),
    "norm": lambda L, x, d, k: x.norm(dim=d, keepdim=k),
}
SINGLE_DIM = ("prod",)  # torch's prod takes one int dim


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(REDUCE))
def test_reduction_dims(name, shape, keepdim):
    x = _distinct(shape)
    for d in _dims(shape):
        if name == "logsumexp" and d == () and not keepdim and shape:
            continue  # PyTorch 2.13 raises "output with shape [] doesn't match" (its bug)
        problems = compare(lambda L, t, d=d: REDUCE[name](L, t, d, keepdim), [x])
        assert not problems, f"dim={d!r}: " + "\n".join(problems)


@pytest.mark.parametrize("dtype", ["bool", "int32", "int64", "float32"])
@pytest.mark.parametrize("name", ["sum", "mean", "amax", "all", "any", "count_nonzero"])
def test_reduction_input_dtypes(name, dtype):
    x = _distinct((3, 4), "int64") % 3
    x = x.astype(dtype)
    for d in [None, 0, -1, (0, 1)]:
        problems = compare(lambda L, t, d=d: REDUCE[name](L, t, d, False), [x])
        assert not problems, f"dim={d!r}: " + "\n".join(problems)


@pytest.mark.parametrize("out", ["float64", "float32", "int64", "int32"])
@pytest.mark.parametrize("dtype", ["bool", "int32", "float32", "float64"])
def test_dtype_argument(dtype, out):
    x = (_distinct((3, 4), "int64") % 5).astype(dtype)
    for fn in (
        lambda L, t: t.sum(dtype=getattr(L, out)),
        lambda L, t: t.sum(0, dtype=getattr(L, out)),
        lambda L, t: L.prod(t, 1, dtype=getattr(L, out)),
        lambda L, t: t.prod(dtype=getattr(L, out)),
        lambda L, t: t.mean(dtype=getattr(L, out)),
        lambda L, t: t.cumsum(-1, dtype=getattr(L, out)),
        lambda L, t: L.cumprod(t, 0, dtype=getattr(L, out)),
    ):
        _check(fn, x)


@pytest.mark.parametrize("dtype", ["bool", "int32", "int64", "uint8", "float32"])
def test_sum_prod_cumsum_promote_integers_to_int64(dtype):
    x = (_distinct((3, 4), "int64") % 4).astype(dtype)
    for fn in (
        lambda L, t: t.sum(),
        lambda L, t: t.sum(1),
        lambda L, t: t.prod(0),
        lambda L, t: t.prod(),
        lambda L, t: t.cumsum(0),
        lambda L, t: t.cumprod(1),
    ):
        _check(fn, x)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4)], ids=str)
def test_prod_dims(shape):
    x = _distinct(shape) * 0.5 + 0.1
    for d in range(-len(shape), len(shape)):
        _check(lambda L, t, d=d: t.prod(d), x)
        _check(lambda L, t, d=d: t.prod(d, keepdim=True), x)
    _check(lambda L, t: t.prod(), x)
    zeros = x.copy()
    zeros.flat[[0, 1]] = 0.0  # the gradient of a product with zeros
    _check(lambda L, t: t.prod(0), zeros)
    _check(lambda L, t: t.prod(), zeros)


SELECT = {
    "max_dim": lambda L, x, d: x.max(dim=d),
    "min_dim_keep": lambda L, x, d: x.min(d, keepdim=True),
    "max_all": lambda L, x, d: x.max(),
    "argmax": lambda L, x, d: x.argmax(dim=d),
    "argmin_keep": lambda L, x, d: L.argmin(x, dim=d, keepdim=True),
    "median_dim": lambda L, x, d: x.median(dim=d),
    "median_all": lambda L, x, d: x.median(),
    "mode": lambda L, x, d: L.mode(x, d),
    "kthvalue": lambda L, x, d: x.kthvalue(1, dim=d),
    "kthvalue_keep": lambda L, x, d: L.kthvalue(x, 1, d, keepdim=True),
    "topk": lambda L, x, d: x.topk(1, dim=d),
    "topk_smallest": lambda L, x, d: L.topk(x, 1, dim=d, largest=False),
    "sort": lambda L, x, d: x.sort(dim=d),
    "sort_desc": lambda L, x, d: L.sort(x, dim=d, descending=True),
    "argsort": lambda L, x, d: x.argsort(dim=d),
    "argsort_desc": lambda L, x, d: L.argsort(x, dim=d, descending=True),
    "cumsum": lambda L, x, d: x.cumsum(d),
    "cumprod": lambda L, x, d: L.cumprod(x, dim=d),
    "logcumsumexp": lambda L, x, d: x.logcumsumexp(d),
    "cummax": lambda L, x, d: L.cummax(x, d),
    "cummin": lambda L, x, d: x.cummin(d),
    "msort": lambda L, x, d: L.msort(x),
    "softmax": lambda L, x, d: x.softmax(d),
    "log_softmax": lambda L, x, d: x.log_softmax(dim=d),
}


@pytest.mark.parametrize("dtype", ["float64", "int64"])
@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4), (2, 0, 3)], ids=str)
@pytest.mark.parametrize("name", sorted(SELECT))
def test_selection_without_ties(name, shape, dtype):
    if dtype == "int64" and 0 in shape and name in ("softmax", "log_softmax", "median_all"):
        pytest.skip(
            "PyTorch answers an empty integer tensor here (median: INT64_MIN) where it "
            "refuses a non-empty one; chainrule refuses both"
        )
    x = _distinct(shape, dtype)
    dims = [0, -1] if not shape else sorted({0, -1, len(shape) - 1, -len(shape)})
    for d in dims:
        problems = compare(lambda L, t, d=d: SELECT[name](L, t, d), [x])
        assert not problems, f"dim={d}: " + "\n".join(problems)


@pytest.mark.parametrize("k", [0, 1, 2, 4])
@pytest.mark.parametrize("largest", [True, False])
def test_topk_k_and_sorted(k, largest):
    x = _distinct((3, 4))
    _check(lambda L, t: t.topk(k, dim=1, largest=largest), x)
    _check(lambda L, t: t.topk(k, dim=0, largest=largest, sorted=True), x[:, :3].T.copy())
    _check(lambda L, t: t.topk(k, largest=largest), x)


def test_topk_and_kthvalue_out_of_range_raise_in_both():
    x = _distinct((3, 4))
    _check(lambda L, t: t.topk(5, dim=1), x)
    _check(lambda L, t: t.kthvalue(0, dim=1), x)
    _check(lambda L, t: t.kthvalue(5, dim=1), x)
    _check(lambda L, t: t.max(dim=2), x)
    _check(lambda L, t: t.sum(dim=(0, 0)), x)
    _check(lambda L, t: t.max(dim=0), np.zeros((0, 3)))
    _check(lambda L, t: t.argmax(), np.zeros((0,)))


TIES = np.array([[1.0, 3.0, 1.0, 2.0, 3.0, 1.0], [2.0, 2.0, 0.0, 2.0, 0.0, 5.0]])


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "int64", "bool"])
def test_stable_sort_with_ties_matches_indices(dtype, descending):
    x = TIES.astype(dtype)
    for d in (0, 1, -1):
        _check(lambda L, t, d=d: t.sort(dim=d, descending=descending, stable=True), x)
        _check(lambda L, t, d=d: L.sort(t, stable=True, dim=d, descending=descending), x)
        _check(lambda L, t, d=d: t.argsort(dim=d, descending=descending, stable=True), x)


@pytest.mark.parametrize(
    "name", ["max_dim", "min_dim_keep", "median_dim", "mode", "kthvalue", "topk", "topk_smallest"]
)
def test_selection_with_ties_values_and_valid_indices(name):
    x = TIES
    for d in (0, 1, -1):
        ours = SELECT[name](cr, cr.tensor(x), d)
        theirs = SELECT[name](torch, torch.tensor(x), d)
        np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
        idx = ours[1].numpy()
        picked = np.take_along_axis(x, idx if idx.ndim == x.ndim else np.expand_dims(idx, d), d)
        np.testing.assert_array_equal(
            np.squeeze(picked, d) if idx.ndim < x.ndim else picked, ours[0].numpy()
        )


def test_mode_ties_pick_the_smallest_value_as_torch():
    x = np.array([[2, 2, 1, 1, 3], [5, 4, 4, 5, 0]], np.int64)
    _check(lambda L, t: L.mode(t, 1)[0], x)
    _check(lambda L, t: t.mode(0)[0], x)


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (0, 3)], ids=str)
def test_var_std_forms(shape):
    x = _distinct(shape)
    for fn in (
        lambda L, t: t.var(),
        lambda L, t: t.var(unbiased=False),
        lambda L, t: t.std(0, True),  # unbiased positional
        lambda L, t: t.var(0, False, True),
        lambda L, t: L.var(t, (0,), correction=3),
        lambda L, t: L.std(t, -1, correction=0.5),
        lambda L, t: L.var_mean(t, dim=-1),
        lambda L, t: L.std_mean(t, 0, correction=0),
    ):
        _check(fn, x)


def test_var_of_one_element_is_nan_as_torch():
    _check(lambda L, t: t.var(), np.array([2.0]))
    _check(lambda L, t: t.std(0), np.array([[2.0, 3.0]]))
    _check(lambda L, t: t.var(correction=0), np.array([2.0]))


@pytest.mark.parametrize("name", ["var", "std", "var_mean"])
def test_float32_variance_of_data_far_from_zero_is_as_accurate_as_torch(name):
    """A float32 mean is off by an ulp or two of the data; the plain two-pass sum carried
    n·δ² into the variance (2e-6 relative at mean 1e4, std 1, against PyTorch's 6e-8)."""
    x = (1e4 + np.random.default_rng(0).standard_normal((16, 1000))).astype(np.float32)
    exact = x.astype(np.float64).var(1, ddof=1)
    fn = {
        "var": lambda L, t: t.var(1),
        "std": lambda L, t: t.std(1) ** 2,
        "var_mean": lambda L, t: L.var_mean(t, 1)[0],
    }[name]
    ours = fn(cr, cr.from_numpy(x)).numpy().astype(np.float64)
    theirs = fn(torch, torch.from_numpy(x)).numpy().astype(np.float64)
    assert np.max(np.abs(ours - exact) / exact) < 3e-7
    np.testing.assert_allclose(ours, theirs, rtol=4e-7)
