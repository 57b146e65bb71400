"""PyTorch's index writes (index_add, index_copy, index_fill, scatter_add and their in-place
forms, scatter_), extremes (fmax, fmin, cummax, cummin, kthvalue, msort), bit shifts, div with
rounding_mode, linspace's bits, logsumexp over nothing and any/all dtypes, against PyTorch."""

import numpy as np
import pytest
from op_check import case, check_case, ids, same_as_torch

import chainrule as cr

torch = pytest.importorskip("torch")

M43 = [((4, 3),)]
M234 = [((2, 3, 4),)]
NAN = float("nan")


def both(values):
    """The same integer index tensor in chainrule and in PyTorch."""
    return cr.tensor(values), torch.tensor(values)


ROWS, T_ROWS = both([2, 0, 2])
SCAT, T_SCAT = both([[0, 1, 0], [2, 2, 1]])


def distinct(rng, shape):
    return rng.permutation(np.arange(1, int(np.prod(shape)) + 1)).reshape(shape) / 7.0


def between(rng, shape):
    """Like ``distinct``, halfway between its values (so the two never tie)."""
    return distinct(rng, shape) + 0.5 / 7


def with_ties(rng, shape):
    return rng.integers(-2, 3, shape).astype(float)


CASES = [
    *case(
        "index_add",
        lambda a, s: cr.index_add(a, 0, ROWS, s, alpha=2.5),
        lambda a, s: torch.index_add(a, 0, T_ROWS, s, alpha=2.5),
        [((4, 3), (3, 3))],
    ),
    *case(
        "index_add_dim1",
        lambda a, s: a.index_add(1, ROWS, s),
        lambda a, s: a.index_add(1, T_ROWS, s),
        [((2, 3, 4), (2, 3, 4))],
    ),
    *case(
        "index_copy",
        lambda a, s: a.index_copy(0, cr.tensor([3, 0]), s),
        lambda a, s: a.index_copy(0, torch.tensor([3, 0]), s),
        [((4, 3), (2, 3))],
    ),
    *case(
        "index_fill",
        lambda a: a.index_fill(1, ROWS, -1.5),
        lambda a: a.index_fill(1, T_ROWS, -1.5),
        M43 + M234,
    ),
    *case(
        "index_fill_tensor_value",
        lambda a, v: cr.index_fill(a, 0, ROWS, v),
        lambda a, v: torch.index_fill(a, 0, T_ROWS, v),
        [((4, 3), ())],
    ),
    *case(
        "scatter_add",
        lambda a, s: cr.scatter_add(a, 1, SCAT, s),
        lambda a, s: torch.scatter_add(a, 1, T_SCAT, s),
        [((2, 3), (2, 3)), ((3, 4), (2, 3))],
    ),
    *case(
        "scatter_add_dim0",
        lambda a, s: a.scatter_add(0, SCAT, s),
        lambda a, s: a.scatter_add(0, T_SCAT, s),
        [((3, 3), (2, 3))],
    ),
    *case(
        "fmax", cr.fmax, torch.fmax, [((4, 3), (4, 3)), ((4, 3), (3,))], domain=(distinct, between)
    ),
    *case("fmin", lambda a, b: a.fmin(b), lambda a, b: a.fmin(b), [((4, 3), (4, 1))]),
    *case(  # ties: all the gradient to the first (a finite difference sees a kink)
        "fmax_ties", cr.fmax, torch.fmax, [((4, 3), (4, 3))], domain=with_ties, gradcheck=False
    ),
    *case("fmin_ties", cr.fmin, torch.fmin, [((4, 3), (3,))], domain=with_ties, gradcheck=False),
    *case(
        "cummax",
        lambda a: cr.cummax(a, 1).values,
        lambda a: torch.cummax(a, 1).values,
        M43 + M234,
        domain=with_ties,
        gradcheck=False,  # ties: a finite difference moves which entry is the maximum
    ),
    *case(
        "cummax_distinct", lambda a: a.cummax(0)[0], lambda a: a.cummax(0)[0], M43, domain=distinct
    ),
    *case(
        "cummin",
        lambda a: a.cummin(-1).values,
        lambda a: a.cummin(-1).values,
        M234,
        domain=distinct,
    ),
    *case("cummin_0d", lambda a: a.cummin(0).values, lambda a: a.cummin(0).values, [((),)]),
    *case(
        "kthvalue",
        lambda a: cr.kthvalue(a, 2, 1).values,
        lambda a: torch.kthvalue(a, 2, 1).values,
        M43 + M234,
        domain=distinct,
    ),
    *case(
        "kthvalue_keepdim",
        lambda a: a.kthvalue(4, 0, keepdim=True)[0],
        lambda a: a.kthvalue(4, 0, keepdim=True)[0],
        M43,
        domain=distinct,
    ),
    *case("msort", cr.msort, torch.msort, M43 + M234, domain=distinct),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_op_matches_torch(c, dtype):
    check_case(c, dtype)


def test_in_place_index_writes_match_torch():
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    src = np.ones((3, 3), np.float32) * 10
    calls = [
        lambda t, lib: t.index_add_(0, lib.tensor([2, 0, 2]), lib.tensor(src), alpha=2),
        lambda t, lib: t.index_copy_(
            1, lib.tensor([2, 0]), lib.tensor(src[:4, :2].repeat(2, 0)[:4])
        ),
        lambda t, lib: t.index_fill_(1, lib.tensor([1]), -1),
        lambda t, lib: t.scatter_add_(0, lib.tensor([[3, 0, 3]]), lib.tensor(src)),
        lambda t, lib: t.scatter_(1, lib.tensor([[2], [0], [1], [2]]), 5.0),
        lambda t, lib: t.scatter_(0, lib.tensor([[1, 2, 3]]), lib.tensor(src)),
    ]
    for call in calls:
        ours, theirs = cr.tensor(x), torch.tensor(x)
        assert call(ours, cr) is ours and call(theirs, torch) is theirs
        same_as_torch(ours, theirs)
        assert ours._version == 1
    leaf = cr.tensor(x, requires_grad=True)
    with pytest.raises(cr.GraphError):
        leaf.index_add_(0, cr.tensor([0]), cr.ones(1, 3))


def test_index_writes_keep_integer_dtypes_and_refuse_what_torch_refuses():
    x = np.arange(6).reshape(2, 3)
    same_as_torch(
        cr.tensor(x).index_fill(1, cr.tensor([0]), 2.7),
        torch.tensor(x).index_fill(1, torch.tensor([0]), 2.7),
    )
    same_as_torch(
        cr.tensor(x).index_add(0, cr.tensor([1, 1]), cr.tensor(x), alpha=3),
        torch.tensor(x).index_add(0, torch.tensor([1, 1]), torch.tensor(x), alpha=3),
    )
    with pytest.raises(RuntimeError):
        torch.tensor(x).index_add(0, torch.tensor([0, 1]), torch.ones(2, 3))
    with pytest.raises(cr.DTypeError):
        cr.tensor(x).index_add(0, cr.tensor([0, 1]), cr.ones(2, 3))
    with pytest.raises(IndexError):
        torch.tensor(x).index_copy(0, torch.tensor([2]), torch.tensor(x[:1]))
    with pytest.raises(cr.ShapeError):
        cr.tensor(x).index_copy(0, cr.tensor([2]), cr.tensor(x[:1]))


def test_cummax_cummin_indices_follow_torch_with_ties_and_nan():
    for values in ([3.0, 3, 1, 5, 5, NAN, 2, NAN, 9], [1.0, 1, 1], [NAN, 1, NAN], [2, 2, 1, 3, 3]):
        for name in ("cummax", "cummin"):
            ours = getattr(cr, name)(cr.tensor(values), 0)
            theirs = getattr(torch, name)(torch.tensor(values), 0)
            same_as_torch(ours.values, theirs.values)
            same_as_torch(ours.indices, theirs.indices)
    x = np.random.default_rng(0).integers(0, 3, (3, 5, 4))
    for dim in (0, 1, -1):
        same_as_torch(cr.cummax(cr.tensor(x), dim)[1], torch.cummax(torch.tensor(x), dim)[1])
    assert cr.cummax(cr.zeros(0), 0).indices.shape == (0,)


def test_kthvalue_and_fmax_edges_match_torch():
    x = [3.0, 1.0, NAN, 2.0]
    for k in (1, 2, 3, 4):
        ours, theirs = cr.kthvalue(cr.tensor(x), k), torch.kthvalue(torch.tensor(x), k)
        same_as_torch(ours.values, theirs.values)
        same_as_torch(ours.indices, theirs.indices)
    with pytest.raises(cr.ShapeError):
        cr.kthvalue(cr.tensor(x), 5)
    a, b = [1.0, NAN, NAN, 2.0, -0.0], [NAN, 3.0, NAN, 2.0, 0.0]
    same_as_torch(cr.fmax(cr.tensor(a), cr.tensor(b)), torch.fmax(torch.tensor(a), torch.tensor(b)))
    same_as_torch(cr.fmin(cr.tensor(a), cr.tensor(b)), torch.fmin(torch.tensor(a), torch.tensor(b)))
    same_as_torch(
        cr.fmax(cr.tensor([1, 5]), cr.tensor([2.0, 1.0])),
        torch.fmax(torch.tensor([1, 5]), torch.tensor([2.0, 1.0])),
    )
    ours = [cr.tensor(v, requires_grad=True) for v in (a, b)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    cr.fmax(*ours).sum().backward()
    torch.fmax(*theirs).sum().backward()
    for o, t in zip(ours, theirs):
        np.testing.assert_array_equal(o.grad.numpy(), t.grad.numpy())


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8", "bool"])
def test_shifts_match_torch(dtype):
    a = np.array([-8, 5, 1, 0, 127, -1, 3], dtype=np.int64)
    if dtype in ("uint8", "bool"):
        a = np.abs(a)
    a = a.astype(dtype)
    counts = np.array([-1, 0, 1, 3, 7, 8, 70])
    ours, theirs = cr.tensor(a), torch.tensor(a)
    for ca, ta in ((cr.tensor(counts), torch.tensor(counts)), (2, 2), (9, 9)):
        same_as_torch(ours << ca, theirs << ta)
        same_as_torch(ours >> ca, theirs >> ta)
    same_as_torch(
        3 << cr.tensor(a[:3].astype(np.int64) % 5), 3 << torch.tensor(a[:3].astype(np.int64) % 5)
    )
    same_as_torch(cr.bitwise_right_shift(ours, 1), torch.bitwise_right_shift(theirs, 1))
    if dtype != "bool":
        ours_in, theirs_in = cr.tensor(a), torch.tensor(a)
        ours_in <<= 1
        theirs_in <<= 1
        same_as_torch(ours_in, theirs_in)
        ours_in >>= 2
        theirs_in >>= 2
        same_as_torch(ours_in, theirs_in)
    with pytest.raises(cr.DTypeError):
        cr.tensor([1.5]) << 1


def test_div_rounding_modes_match_torch():
    a = np.array([1.0, -7.0, 7.0, 5.0, -0.5, 9.0], np.float32)
    b = np.array([0.1, 2.0, -2.0, 0.0, 3.0, 3.0], np.float32)
    for mode in (None, "floor", "trunc"):
        same_as_torch(
            cr.div(cr.tensor(a), cr.tensor(b), rounding_mode=mode),
            torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode),
        )
        same_as_torch(
            cr.tensor(a).div(2.5, rounding_mode=mode), torch.tensor(a).div(2.5, rounding_mode=mode)
        )
        same_as_torch(
            cr.divide(cr.tensor([7, -7, 9]), cr.tensor([2, 2, -4]), rounding_mode=mode),
            torch.divide(torch.tensor([7, -7, 9]), torch.tensor([2, 2, -4]), rounding_mode=mode),
        )
        ours, theirs = cr.tensor(a), torch.tensor(a)
        ours.div_(cr.tensor(b), rounding_mode=mode)
        theirs.div_(torch.tensor(b), rounding_mode=mode)
        same_as_torch(ours, theirs)
    for mode in ("floor", "trunc"):
        ours, theirs = cr.tensor([7, -7, 9]), torch.tensor([7, -7, 9])
        ours.div_(2, rounding_mode=mode)
        theirs.div_(2, rounding_mode=mode)
        same_as_torch(ours, theirs)
        with pytest.raises(ZeroDivisionError):
            cr.div(cr.tensor([1]), cr.tensor([0]), rounding_mode=mode)
        x = cr.tensor(a, requires_grad=True)
        cr.div(x, 3.0, rounding_mode=mode).sum().backward()
        assert x.grad.tolist() == [0.0] * len(a)  # PyTorch's gradient of a rounded quotient
    with pytest.raises(ValueError):
        cr.div(cr.tensor(a), 2, rounding_mode="round")
    with pytest.raises(cr.DTypeError):  # an int64 tensor cannot hold 7 / 2 (PyTorch refuses too)
        cr.tensor([7]).div_(2)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_linspace_has_torchs_bits(dtype):
    rng = np.random.default_rng(0)
    ranges = [(0, 1, n) for n in range(0, 70)] + [(-3.3, 7.1, n) for n in (5, 33, 100, 1001)]
    ranges += [
        (float(a), float(b), int(n))
        for a, b, n in zip(
            rng.normal(size=40) * 10, rng.normal(size=40) * 100, rng.integers(2, 5000, 40)
        )
    ]
    ranges += [(1e-3, 1e5, 100001), (-1e30, 1e30, 777), (5, 5, 10), (3, -2, 50), (2, 2, 1)]
    for start, end, steps in ranges:
        ours = cr.linspace(start, end, steps, dtype=dtype)
        same_as_torch(ours, torch.linspace(start, end, steps, dtype=getattr(torch, dtype)))
    same_as_torch(
        cr.linspace(0, 10, 7, dtype=cr.int64), torch.linspace(0, 10, 7, dtype=torch.int64)
    )


def test_logsumexp_over_nothing_is_minus_infinity_as_torch():
    for shape, dim in (((0, 3), 0), ((0, 3), 1), ((0,), 0), ((2, 0, 3), (0, 1))):
        x = np.zeros(shape, np.float32)
        same_as_torch(
            cr.logsumexp(cr.tensor(x), dim=dim), torch.logsumexp(torch.tensor(x), dim=dim)
        )
    x = cr.zeros(0, 3, requires_grad=True)
    x.logsumexp(0).sum().backward()
    assert x.grad.shape == (0, 3)


def test_any_all_and_empty_match_torch():
    for values in ([[0, 3], [0, 0]], [[True, False]], [[0.0, 1.5]]):
        for dtype in (None, cr.uint8):
            ours, theirs = cr.tensor(values), torch.tensor(values)
            if dtype:
                ours, theirs = ours.to(dtype), theirs.to(torch.uint8)
            for name in ("any", "all"):
                same_as_torch(getattr(cr, name)(ours), getattr(torch, name)(theirs))
                same_as_torch(getattr(ours, name)(1), getattr(theirs, name)(1))
                same_as_torch(
                    getattr(cr, name)(ours, (0, 1), True),
                    getattr(torch, name)(theirs, (0, 1), True),
                )
    assert cr.empty(2, 3).shape == (2, 3) and cr.empty((2,), dtype=cr.int64).dtype == np.int64
    like = cr.empty_like(cr.tensor([1, 2]))
    assert like.shape == (2,) and like.dtype == np.int64
    assert cr.tensor([1.0, 2.0]).where(cr.tensor([True, False]), 0.0).tolist() == [1.0, 0.0]
