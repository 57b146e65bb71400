"""PyTorch names for picking and locating elements: median, unique, nonzero, argwhere, bincount,
masked_select, diag, diagonal, trace, lerp, diff, bmm, the logical ops and view_as/expand_as/
type_as, against PyTorch (values, dtypes, gradients) and float64 finite differences."""

import numpy as np
import pytest
from op_check import case, check_case, ids, same_as_torch

import chainrule as cr

torch = pytest.importorskip("torch")


def distinct(rng, shape):
    """No ties (the median's gradient goes to one element, whose index ties would blur)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) - n / 2).reshape(shape) / 3 + 0.01


def weights(rng, shape):
    """lerp weights on both sides of PyTorch's switch at 0.5."""
    return rng.uniform(-0.4, 1.4, shape)


CASES = [
    *case(
        "median_all",
        lambda a: a.median(),
        lambda a: a.median(),
        [((7,),), ((2, 3, 4),)],
        domain=distinct,
    ),
    *case(
        "median_dim",
        lambda a: a.median(1).values,
        lambda a: a.median(1).values,
        [((4, 5),), ((4, 6),), ((2, 3, 4),)],
        domain=distinct,
    ),
    *case(
        "median_keep",
        lambda a: cr.median(a, -1, keepdim=True)[0],
        lambda a: torch.median(a, -1, keepdim=True)[0],
        [((3, 4),)],
        domain=distinct,
    ),
    *case("diag_embed", lambda a: cr.diag(a) * 2, lambda a: torch.diag(a) * 2, [((4,),)]),
    *case("diag_embed_k", lambda a: a.diag(-2), lambda a: a.diag(-2), [((3,),)]),
    *case("diag_of_matrix", lambda a: cr.diag(a, 1), lambda a: torch.diag(a, 1), [((4, 5),)]),
    *case(
        "diagonal",
        lambda a: a.diagonal(0, 1, 2) ** 2,
        lambda a: a.diagonal(0, 1, 2) ** 2,
        [((2, 3, 4),)],
    ),
    *case(
        "diagonal_offset",
        lambda a: cr.diagonal(a, -1, -1, 0),
        lambda a: torch.diagonal(a, -1, -1, 0),
        [((3, 4, 5),)],
    ),
    *case("trace", lambda a: a.trace(), lambda a: a.trace(), [((4, 3),)]),
    *case(
        "lerp_scalar_low",
        lambda a, b: cr.lerp(a, b, 0.25),
        lambda a, b: torch.lerp(a, b, 0.25),
        [((3, 4), (3, 4))],
    ),
    *case(
        "lerp_scalar_high",
        lambda a, b: a.lerp(b, 0.75),
        lambda a, b: a.lerp(b, 0.75),
        [((3, 4), (4,))],
    ),
    *case(
        "lerp_tensor",
        lambda a, b, w: a.lerp(b, w),
        lambda a, b, w: a.lerp(b, w),
        [((3, 4), (3, 4), (3, 4))],
        domain=[distinct, distinct, weights],
    ),
    *case("diff", lambda a: cr.diff(a), lambda a: torch.diff(a), [((6,),), ((3, 5),)]),
    *case("diff_n2_dim0", lambda a: a.diff(2, 0), lambda a: a.diff(2, 0), [((5, 3),)]),
    *case(
        "diff_prepend",
        lambda a, p: cr.diff(a, dim=1, prepend=p),
        lambda a, p: torch.diff(a, dim=1, prepend=p),
        [((3, 4), (3, 2))],
    ),
    *case("bmm", cr.bmm, torch.bmm, [((2, 3, 4), (2, 4, 5))]),
    *case(
        "masked_select",
        lambda a: cr.masked_select(a, a > 0) * 3,
        lambda a: torch.masked_select(a, a > 0) * 3,
        [((4, 5),)],
    ),
    *case(
        "view_as", lambda a, b: a.view_as(b) * b, lambda a, b: a.view_as(b) * b, [((2, 6), (3, 4))]
    ),
    *case(
        "expand_as",
        lambda a, b: a.expand_as(b) * b,
        lambda a, b: a.expand_as(b) * b,
        [((1, 4), (3, 4))],
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_op_matches_torch(c, dtype):
    check_case(c, dtype)


@pytest.mark.parametrize(
    "values",
    [
        [3.0, 1.0, 4.0, 2.0],
        [2.0, 2.0, 1.0, 2.0, 3.0],
        [1.0, float("nan"), 0.0, float("nan")],
        [5, 1, 3, 2],
    ],
)
def test_median_is_the_lower_middle_and_nan_wins_as_in_pytorch(values):
    ours, theirs = cr.tensor(values).median(0), torch.tensor(values).median(0)
    same_as_torch(ours.values, theirs.values)
    same_as_torch(ours.indices, theirs.indices)
    same_as_torch(cr.median(cr.tensor(values)), torch.median(torch.tensor(values)))


def test_median_of_an_empty_tensor_is_nan_and_empty_dim_raises():
    assert np.isnan(cr.median(cr.tensor([])).item())
    with pytest.raises(cr.errors.ShapeError, match="empty"):
        cr.zeros(2, 0).median(1)


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("counts", [False, True])
def test_unique_matches_pytorch(inverse, counts):
    data = [[3, 1, 3], [2, 1, 9]]
    ours = cr.unique(cr.tensor(data), return_inverse=inverse, return_counts=counts)
    theirs = torch.unique(torch.tensor(data), return_inverse=inverse, return_counts=counts)
    for a, b in zip(
        ours if isinstance(ours, tuple) else [ours],
        theirs if isinstance(theirs, tuple) else [theirs],
    ):
        same_as_torch(a, b)


def test_unique_along_a_dim_gives_distinct_rows():
    data = [[1, 2], [0, 5], [1, 2]]
    same_as_torch(cr.tensor(data).unique(dim=0), torch.tensor(data).unique(dim=0))


@pytest.mark.parametrize("data", [[[0, 1], [2, 0]], [0.0, 1.0, -2.0], 3.0, [[False, True]]])
def test_nonzero_and_argwhere_match_pytorch(data):
    same_as_torch(cr.tensor(data).nonzero(), torch.tensor(data).nonzero())
    same_as_torch(cr.argwhere(cr.tensor(data)), torch.argwhere(torch.tensor(data)))
    for a, b in zip(
        cr.nonzero(cr.tensor(data), as_tuple=True), torch.nonzero(torch.tensor(data), as_tuple=True)
    ):
        same_as_torch(a, b)


def test_bincount_counts_and_weights_with_pytorchs_dtypes():
    x = [0, 1, 1, 4]
    same_as_torch(cr.bincount(cr.tensor(x)), torch.bincount(torch.tensor(x)))
    same_as_torch(cr.tensor(x).bincount(minlength=7), torch.tensor(x).bincount(minlength=7))
    for w in ([0.5, 1.0, 2.0, 0.25], [1, 2, 3, 4]):
        same_as_torch(
            cr.bincount(cr.tensor(x), cr.tensor(w)),
            torch.bincount(torch.tensor(x), torch.tensor(w)),
        )
    with pytest.raises(ValueError, match="non-negative"):
        cr.bincount(cr.tensor([1, -1]))
    with pytest.raises(cr.errors.DTypeError, match="1-D"):
        cr.bincount(cr.tensor([0.5]))


@pytest.mark.parametrize("op", ["logical_and", "logical_or", "logical_xor"])
def test_logical_ops_match_pytorch(op):
    a, b = [0.0, 1.0, 2.0, 0.0], [1, 0, 3, 0]
    same_as_torch(
        getattr(cr, op)(cr.tensor(a), cr.tensor(b)),
        getattr(torch, op)(torch.tensor(a), torch.tensor(b)),
    )
    same_as_torch(
        getattr(cr.tensor(a), op)(cr.tensor(b)), getattr(torch.tensor(a), op)(torch.tensor(b))
    )
    same_as_torch(cr.logical_not(cr.tensor(a)), torch.logical_not(torch.tensor(a)))


def test_diagonal_is_a_writable_view_as_in_pytorch():
    ours, theirs = cr.arange(12.0).reshape(3, 4), torch.arange(12.0).reshape(3, 4)
    with cr.no_grad():
        ours.diagonal(1).fill_(-1.0)
    theirs.diagonal(1).fill_(-1.0)
    same_as_torch(ours, theirs)
    # diag of a matrix is a copy in both
    d = cr.diag(ours)
    with cr.no_grad():
        d.fill_(7.0)
    assert ours[0, 0].item() == 0.0


def test_type_as_and_nelement():
    assert cr.tensor([1, 2]).type_as(cr.ones(1)).dtype == cr.float32
    x = cr.ones(2, 3)
    assert x.type_as(cr.ones(1)) is x
    assert x.nelement() == 6


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cr.bmm(cr.ones(2, 3), cr.ones(3, 2)), "3-D"),
        (lambda: cr.bmm(cr.ones(2, 3, 4), cr.ones(3, 4, 5)), "batch"),
        (lambda: cr.diag(cr.ones(2, 2, 2)), "1-D or 2-D"),
        (lambda: cr.diagonal(cr.ones(3)), "2 dimensions"),
        (lambda: cr.diagonal(cr.ones(3, 3), 0, 1, -1), "same dimension"),
        (lambda: cr.diff(cr.tensor(1.0)), "0-d"),
        (lambda: cr.diff(cr.ones(3), n=-1), "non-negative"),
        (lambda: cr.masked_select(cr.ones(3), cr.ones(3)), "bool mask"),
        (lambda: cr.ones(3).trace(), "2-D"),
    ],
)
def test_bad_input_names_the_problem(call, match):
    with pytest.raises(Exception, match=match):
        call()


def test_edge_inputs_answer_or_refuse_as_pytorch():
    # a 0-d tensor has a median along dim 0 or -1
    for dim in (0, -1):
        ours, theirs = cr.tensor(2.5).median(dim), torch.tensor(2.5).median(dim)
        same_as_torch(ours.values, theirs.values)
        same_as_torch(ours.indices, theirs.indices)
    # bools: diff is "unequal neighbours"; median, bincount, searchsorted and lerp refuse
    flags = [True, False, False, True]
    same_as_torch(cr.diff(cr.tensor(flags)), torch.diff(torch.tensor(flags)))
    for call in (
        lambda L: L.median(L.tensor(flags)),
        lambda L: L.bincount(L.tensor(flags)),
        lambda L: L.searchsorted(L.tensor([False, True]), L.tensor(flags)),
        lambda L: L.lerp(L.tensor([1, 2]), L.tensor([3, 4]), 0.5),
    ):
        with pytest.raises((RuntimeError, NotImplementedError)):
            call(torch)
        with pytest.raises(cr.errors.DTypeError):
            call(cr)


@pytest.mark.parametrize(
    "values",
    [[2.0, 2.0, 1.0, 2.0, 3.0], [1.0, float("nan"), 2.0, float("nan")], [[3.0, 1.0], [4.0, 2.0]]],
)
def test_median_of_all_shares_the_gradient_among_ties_as_pytorch(values):
    """median() spreads the gradient evenly over the elements equal to it (median(dim) picks
    one): both as PyTorch."""
    ours, theirs = cr.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
    ours.median().backward()
    theirs.median().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    "call",
    [
        lambda L, a, b: L.lerp(a, b, 0.25),
        lambda L, a, b: L.bmm(a[None], b[None]),
    ],
    ids=["lerp", "bmm"],
)
@pytest.mark.parametrize(
    "dtypes", [("float32", "float64"), ("float64", "int64"), ("int32", "int64")]
)
def test_mixed_dtypes_are_refused_where_pytorch_refuses(call, dtypes):
    a, b = ([[1.0, 2.0], [3.0, 4.0]],) * 2
    with pytest.raises(RuntimeError):
        call(
            torch,
            torch.tensor(a, dtype=getattr(torch, dtypes[0])),
            torch.tensor(b, dtype=getattr(torch, dtypes[1])),
        )
    with pytest.raises(cr.errors.DTypeError):
        call(cr, cr.tensor(a, dtype=dtypes[0]), cr.tensor(b, dtype=dtypes[1]))


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
@pytest.mark.parametrize("keepdim", [False, True])
def test_nansum_and_nanmean_match_pytorch_with_gradients(dim, keepdim):
    x = np.array([[1.5, np.nan, -2.0], [0.5, 3.0, np.nan]], np.float32)
    for name in ("nansum", "nanmean"):
        ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        kwargs = {} if dim is None else {"dim": dim, "keepdim": keepdim}
        o, t = getattr(ours, name)(**kwargs), getattr(theirs, name)(**kwargs)
        np.testing.assert_allclose(o.detach().numpy(), t.detach().numpy(), rtol=1e-6)
        assert o.dtype == "float32"
        o.sum().backward()
        t.sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)


def test_nanmean_of_an_all_nan_slice_is_nan_quietly():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = cr.nanmean(cr.tensor([[1.0, float("nan")], [float("nan"), float("nan")]]), dim=1)
    assert out.numpy()[0] == 1.0 and np.isnan(out.numpy()[1])
    with pytest.raises(cr.errors.DTypeError):
        cr.nanmean(cr.tensor([1, 2]))
    assert cr.nansum(cr.tensor([1, 2])).item() == 3
