"""PyTorch names for products, distances, running products and counting: addmm, baddbmm,
addcmul, addcdiv, kron, cross, cdist, cumprod, repeat_interleave, searchsorted, mode, against
PyTorch (values, dtypes, gradients) and float64 finite differences."""

import numpy as np
import pytest
from op_check import away_from_zero, case, check_case, ids, same_as_torch

import chainrule as cr

torch = pytest.importorskip("torch")


def with_zeros(rng, shape):
    """Normal values with about a third set to 0 (cumprod's gradient through zeros)."""
    x = rng.standard_normal(shape)
    return np.where(rng.uniform(size=shape) < 0.35, 0.0, x)


def small_ints(rng, shape):
    """Few distinct values, so mode has real repeats (as floats, to carry a gradient)."""
    return rng.integers(0, 3, shape).astype(float)


INF = float("inf")

CASES = [
    *case(
        "addmm",
        lambda i, a, b: cr.addmm(i, a, b),
        lambda i, a, b: torch.addmm(i, a, b),
        [((3, 5), (3, 4), (4, 5)), ((5,), (3, 4), (4, 5)), ((), (2, 3), (3, 2))],
    ),
    *case(
        "addmm_beta_alpha",
        lambda i, a, b: i.addmm(a, b, beta=0.5, alpha=-2),
        lambda i, a, b: i.addmm(a, b, beta=0.5, alpha=-2),
        [((3, 1), (3, 4), (4, 5))],
    ),
    *case(
        "addmm_beta0",
        lambda i, a, b: cr.addmm(i, a, b, beta=0),
        lambda i, a, b: torch.addmm(i, a, b, beta=0),
        [((3, 5), (3, 4), (4, 5))],
    ),
    *case(
        "addmm_alpha0",
        lambda i, a, b: cr.addmm(i, a, b, alpha=0, beta=3),
        lambda i, a, b: torch.addmm(i, a, b, alpha=0, beta=3),
        [((5,), (3, 4), (4, 5))],
    ),
    *case(
        "baddbmm",
        lambda i, a, b: cr.baddbmm(i, a, b, beta=2, alpha=0.5),
        lambda i, a, b: torch.baddbmm(i, a, b, beta=2, alpha=0.5),
        [((2, 3, 5), (2, 3, 4), (2, 4, 5)), ((5,), (2, 3, 4), (2, 4, 5))],
    ),
    *case(
        "baddbmm_method",
        lambda i, a, b: i.baddbmm(a, b),
        lambda i, a, b: i.baddbmm(a, b),
        [((1, 3, 1), (2, 3, 4), (2, 4, 2))],
    ),
    *case(
        "addcmul",
        lambda i, a, b: cr.addcmul(i, a, b, value=-0.5),
        lambda i, a, b: torch.addcmul(i, a, b, value=-0.5),
        [((3, 4), (3, 4), (3, 4)), ((4, 1), (3,), (4, 3)), ((), (2, 3), ())],
    ),
    *case(
        "addcmul_method",
        lambda i, a, b: i.addcmul(a, b),
        lambda i, a, b: i.addcmul(a, b),
        [((3, 4), (4,), (3, 4))],
    ),
    *case(
        "addcdiv",
        lambda i, a, b: cr.addcdiv(i, a, b, value=2),
        lambda i, a, b: torch.addcdiv(i, a, b, value=2),
        [((3, 4), (3, 4), (3, 4)), ((4, 1), (3,), (4, 3))],
        domain=[away_from_zero] * 3,
    ),
    *case(
        "addcdiv_method",
        lambda i, a, b: i.addcdiv(a, b, value=0.25),
        lambda i, a, b: i.addcdiv(a, b, value=0.25),
        [((3, 4), (3, 4), (4,))],
        domain=[away_from_zero] * 3,
    ),
    *case(
        "kron",
        cr.kron,
        torch.kron,
        [((2, 3), (4, 5)), ((3,), (2, 2)), ((2, 1, 3), (2, 2)), ((), (3,))],
    ),
    *case("kron_method", lambda a, b: a.kron(b), lambda a, b: a.kron(b), [((2,), (3,))]),
    *case(
        "cross",
        cr.cross,
        torch.linalg.cross,
        [((3,), (3,)), ((4, 3), (4, 3)), ((1, 3), (5, 3)), ((2, 4, 3), (2, 1, 3))],
    ),
    *case(
        "cross_dim",
        lambda a, b: a.cross(b, dim=0),
        lambda a, b: a.cross(b, dim=0),
        [((3, 4), (3, 4)), ((3, 3), (3, 3))],
    ),
    *case(
        "cross_dim_mid",
        lambda a, b: cr.cross(a, b, dim=-2),
        lambda a, b: torch.cross(a, b, dim=-2),
        [((2, 3, 4), (2, 3, 4))],
    ),
    *case(
        "cdist",
        cr.cdist,
        torch.cdist,
        [((4, 3), (5, 3)), ((2, 4, 3), (2, 5, 3)), ((2, 4, 3), (5, 3)), ((1, 3, 2), (2, 1, 2))],
    ),
    *case(
        "cdist_p1",
        lambda a, b: cr.cdist(a, b, p=1),
        lambda a, b: torch.cdist(a, b, p=1),
        [((4, 3), (5, 3)), ((2, 4, 3), (2, 5, 3))],
    ),
    *case(
        "cdist_inf",
        lambda a, b: cr.cdist(a, b, p=INF),
        lambda a, b: torch.cdist(a, b, p=INF),
        [((4, 3), (5, 3)), ((2, 4, 3), (2, 5, 3))],
    ),
    *case(
        "cumprod",
        lambda a: cr.cumprod(a, 0),
        lambda a: torch.cumprod(a, 0),
        [((5,),), ((4, 3),), ((1,),)],
    ),
    *case(
        "cumprod_dim",
        lambda a: a.cumprod(-1),
        lambda a: a.cumprod(-1),
        [((3, 6),), ((2, 3, 4),)],
    ),
    *case(
        "cumprod_zeros",
        lambda a: a.cumprod(1),
        lambda a: a.cumprod(1),
        [((6, 7),), ((3, 8, 2),)],
        domain=with_zeros,
        gradcheck=False,  # a zero is a kink for finite differences; checked exactly below
    ),
    *case(
        "repeat_interleave",
        lambda a: cr.repeat_interleave(a, 2),
        lambda a: torch.repeat_interleave(a, 2),
        [((3,),), ((2, 3),)],
    ),
    *case(
        "repeat_interleave_dim",
        lambda a: a.repeat_interleave(cr.tensor([2, 0, 1]), dim=1),
        lambda a: a.repeat_interleave(torch.tensor([2, 0, 1]), dim=1),
        [((2, 3),), ((4, 3, 2),)],
    ),
    *case(
        "mode_values",
        lambda a: cr.mode(a, 1).values * 2,
        lambda a: torch.mode(a, 1).values * 2,
        [((4, 9),), ((3, 6, 2),)],
        domain=small_ints,
        gradcheck=False,  # a step function of the values: finite differences change the pick
    ),
    *case(
        "mode_keepdim",
        lambda a: a.mode(0, keepdim=True)[0],
        lambda a: a.mode(0, keepdim=True)[0],
        [((7, 3),)],
        domain=small_ints,
        gradcheck=False,
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_op_matches_torch(c, dtype):
    check_case(c, dtype)


def _grads(ours_fn, theirs_fn, *arrays):
    ours = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    ours_fn(*ours).sum().backward()
    theirs_fn(*theirs).sum().backward()
    return [t.grad.numpy() for t in ours], [t.grad.numpy() for t in theirs]


@pytest.mark.parametrize(
    "values",
    [
        [0.0, 2.0, 3.0, 4.0],
        [2.0, 3.0, 4.0, 0.0],
        [2.0, 0.0, 3.0, 0.0, 5.0],
        [0.0, 0.0, 0.0],
        [1.5, -2.0, 0.0, 0.5, 3.0, 0.0, 2.0],
    ],
)
def test_cumprod_gradient_through_zeros_is_pytorchs(values):
    weights = np.arange(1.0, len(values) + 1)  # distinct upstream weights per output

    def ours(x):
        return cr.cumprod(x, 0) * cr.tensor(weights, dtype="float64")

    def theirs(x):
        return torch.cumprod(x, 0) * torch.tensor(weights)

    (mine,), (ref,) = _grads(ours, theirs, np.array(values))
    np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-12)
    # and the exact product rule, one element at a time
    x = np.array(values)
    exact = [
        sum(weights[j] * np.prod(np.delete(x[: j + 1], k)) for j in range(k, len(x)))
        for k in range(len(x))
    ]
    np.testing.assert_allclose(mine, exact, rtol=1e-12, atol=1e-12)


def test_cumprod_dtypes_follow_pytorch():
    for data, dtype in (([1, 2, 3], "int32"), ([True, False], "bool"), ([2, 3], "int64")):
        same_as_torch(
            cr.cumprod(cr.tensor(data, dtype=dtype), 0),
            torch.cumprod(torch.tensor(data, dtype=getattr(torch, dtype)), 0),
        )
    same_as_torch(
        cr.tensor([1, 2]).cumprod(0, dtype="float64"),
        torch.tensor([1, 2]).cumprod(0, dtype=torch.float64),
    )
    same_as_torch(cr.cumprod(cr.tensor(3.0), 0), torch.cumprod(torch.tensor(3.0), 0))


def test_addmm_ignores_nan_input_when_beta_is_0_as_pytorch():
    a = (np.arange(6.0).reshape(2, 3) / 4).astype(np.float32)
    b = (np.arange(6.0).reshape(3, 2) - 2).astype(np.float32)
    bias = np.array([np.nan, np.inf], np.float32)
    ours = cr.addmm(cr.tensor(bias), cr.tensor(a), cr.tensor(b), beta=0)
    theirs = torch.addmm(torch.tensor(bias), torch.tensor(a), torch.tensor(b), beta=0)
    assert np.isfinite(ours.numpy()).all()
    same_as_torch(ours, theirs)
    # and a NaN in a factor is ignored when alpha is 0
    a[0, 0] = np.nan
    ours = cr.addmm(cr.ones(2, 2), cr.tensor(a), cr.tensor(b), alpha=0.0)
    theirs = torch.addmm(torch.ones(2, 2), torch.tensor(a), torch.tensor(b), alpha=0.0)
    same_as_torch(ours, theirs)
    # the ignored term's gradient is 0 (a tensor of zeros, as PyTorch's)
    (gb, ga, _), (tb, ta, _) = _grads(
        lambda i, x, y: cr.addmm(i, x, y, beta=0),
        lambda i, x, y: torch.addmm(i, x, y, beta=0),
        bias,
        np.ones((2, 3)),
        b,
    )
    np.testing.assert_array_equal(gb, tb)
    np.testing.assert_array_equal(ga, ta)


def test_integer_addmm_and_addcmul_match_pytorch_and_refuse_fractions():
    i, a, b = [[1, 2]], [[1, 2], [3, 4]], [[1, 0], [2, 1]]
    same_as_torch(
        cr.addmm(cr.tensor(i), cr.tensor(a), cr.tensor(b), beta=2, alpha=3),
        torch.addmm(torch.tensor(i), torch.tensor(a), torch.tensor(b), beta=2, alpha=3),
    )
    same_as_torch(
        cr.addcmul(cr.tensor([1, 2]), cr.tensor([3, 4]), cr.tensor([5, 6]), value=2),
        torch.addcmul(torch.tensor([1, 2]), torch.tensor([3, 4]), torch.tensor([5, 6]), value=2),
    )
    # float input, integer factors: promoted first, as PyTorch
    same_as_torch(
        cr.addcdiv(cr.tensor([1.0, 2.0]), cr.tensor([3, 4]), cr.tensor([2.0, 8.0])),
        torch.addcdiv(torch.tensor([1.0, 2.0]), torch.tensor([3, 4]), torch.tensor([2.0, 8.0])),
    )
    # PyTorch truncates beta=0.5 to 0 on integer tensors; chainrule refuses instead
    with pytest.raises(cr.DTypeError, match="beta=0.5 is not an integer"):
        cr.addmm(cr.tensor(i), cr.tensor(a), cr.tensor(b), beta=0.5)
    with pytest.raises(cr.DTypeError, match="value=0.5 is not an integer"):
        cr.addcmul(cr.tensor([1]), cr.tensor([1]), cr.tensor([1]), value=0.5)


def test_cdist_gradient_at_zero_distance_is_0_and_inf_ties_each_get_it():
    x = np.array([[1.0, 2.0, 3.0], [1.0, 5.0, 6.0]])
    y = np.array([[1.0, 2.0, 3.0]])
    for p in (1.0, 2.0, INF):
        (gx, gy), (tx, ty) = _grads(
            lambda a, b, p=p: cr.cdist(a, b, p=p), lambda a, b, p=p: torch.cdist(a, b, p=p), x, y
        )
        np.testing.assert_allclose(gx, tx, rtol=1e-12)
        np.testing.assert_allclose(gy, ty, rtol=1e-12)
        assert not gx[0].any()  # the row at distance 0
    # ∞-norm: |5-2| and |6-3| tie; PyTorch gives each the full gradient (norm would share it)
    assert gx[1].tolist() == [0.0, 1.0, 1.0]


def test_cdist_large_inputs_match_pytorchs_matmul_formula_within_rounding():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((40, 8)), rng.standard_normal((30, 8))
    np.testing.assert_allclose(
        cr.cdist(cr.tensor(a, dtype="float64"), cr.tensor(b, dtype="float64")).numpy(),
        torch.cdist(torch.tensor(a), torch.tensor(b)).numpy(),
        rtol=1e-10,
    )


@pytest.mark.parametrize("right", [False, True])
def test_searchsorted_matches_pytorch(right):
    seq = [1.0, 2.0, 2.0, 3.0]
    values = [[2.0, 0.0, 3.0], [5.0, 1.0, 2.5]]
    same_as_torch(
        cr.searchsorted(cr.tensor(seq), cr.tensor(values), right=right),
        torch.searchsorted(torch.tensor(seq), torch.tensor(values), right=right),
    )
    side = "right" if right else "left"
    rows = [[1.0, 2.0, 2.0], [0.0, 4.0, 4.0]]
    same_as_torch(
        cr.searchsorted(cr.tensor(rows), cr.tensor([[2.0, 3.0], [4.0, -1.0]]), side=side),
        torch.searchsorted(torch.tensor(rows), torch.tensor([[2.0, 3.0], [4.0, -1.0]]), side=side),
    )
    # NaN goes where PyTorch's comparisons put it (NumPy's searchsorted differs here)
    nan_seq, nan_values = [1.0, float("nan")], [2.0, float("nan"), 0.0]
    same_as_torch(
        cr.searchsorted(cr.tensor(nan_seq), cr.tensor(nan_values), right=right),
        torch.searchsorted(torch.tensor(nan_seq), torch.tensor(nan_values), right=right),
    )


def test_searchsorted_scalars_dtypes_and_sorter():
    seq = cr.tensor([1, 3, 5])
    same_as_torch(cr.searchsorted(seq, 3), torch.searchsorted(torch.tensor([1, 3, 5]), 3))
    same_as_torch(
        cr.searchsorted(seq, cr.tensor([2.5, 3.0]), out_int32=True),
        torch.searchsorted(torch.tensor([1, 3, 5]), torch.tensor([2.5, 3.0]), out_int32=True),
    )
    same_as_torch(
        cr.searchsorted(cr.tensor([5.0, 1.0, 3.0]), cr.tensor([2.0]), sorter=cr.tensor([1, 2, 0])),
        torch.searchsorted(
            torch.tensor([5.0, 1.0, 3.0]), torch.tensor([2.0]), sorter=torch.tensor([1, 2, 0])
        ),
    )
    assert not cr.searchsorted(seq, cr.tensor([2.0], requires_grad=True)).requires_grad


@pytest.mark.parametrize(
    "values",
    [
        [1.0, 2.0, 2.0, 3.0, 3.0, 1.0],  # three values twice each: the smallest, last seen
        [3, 1, 3, 1, 2],
        [5.0, 5.0, 2.0],
        [2.0, 5.0, 5.0, 2.0, 5.0],
        [0.0, -0.0, 0.0],
        [7.0],
        list(np.random.default_rng(3).integers(0, 4, 16)),  # up to 16: PyTorch's sort is stable
    ],
)
def test_mode_picks_the_smallest_most_frequent_value_at_its_last_index_as_pytorch(values):
    ours, theirs = cr.tensor(values).mode(), torch.tensor(values).mode()
    same_as_torch(ours.values, theirs.values)
    same_as_torch(ours.indices, theirs.indices)


def test_mode_along_a_dim_values_always_match_pytorch():
    data = np.random.default_rng(0).integers(0, 5, (6, 40))
    ours, theirs = cr.mode(cr.tensor(data), 1), torch.mode(torch.tensor(data), 1)
    same_as_torch(ours.values, theirs.values)
    # beyond 16 elements PyTorch's index is any occurrence; chainrule's is the last one
    rows = np.arange(6)
    assert (data[rows, ours.indices.numpy()] == ours.values.numpy()).all()
    for row, index in zip(data, ours.indices.tolist()):
        assert index == np.nonzero(row == row[index])[0][-1]


def test_repeat_interleave_counts_only_and_output_size():
    same_as_torch(
        cr.repeat_interleave(cr.tensor([2, 0, 1])), torch.repeat_interleave(torch.tensor([2, 0, 1]))
    )
    same_as_torch(
        cr.repeat_interleave(cr.tensor(5.0), 3), torch.repeat_interleave(torch.tensor(5.0), 3)
    )
    same_as_torch(
        cr.tensor([[1, 2]]).repeat_interleave(cr.tensor([3]), dim=0, output_size=3),
        torch.tensor([[1, 2]]).repeat_interleave(torch.tensor([3]), dim=0, output_size=3),
    )


def test_new_names_are_module_functions_and_tensor_methods_where_pytorch_has_them():
    x = cr.ones(3, 3)
    for name in ("addmm", "baddbmm", "addcmul", "addcdiv", "kron", "cross", "cumprod"):
        assert callable(getattr(cr, name)) and callable(getattr(x, name))
    for name in ("repeat_interleave", "mode", "cdist", "searchsorted"):
        assert callable(getattr(cr, name))
    assert hasattr(x, "mode") and hasattr(x, "repeat_interleave")
    # PyTorch has no Tensor.cdist or Tensor.searchsorted; neither has chainrule
    assert not hasattr(torch.ones(1), "cdist") and not hasattr(x, "cdist")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: cr.addmm(cr.ones(2), cr.ones(2), cr.ones(2, 2)), "matrices"),
        (lambda: cr.addmm(cr.ones(2), cr.ones(2, 3), cr.ones(2, 2)), "inner sizes"),
        (lambda: cr.addmm(cr.ones(3), cr.ones(2, 2), cr.ones(2, 2)), "does not broadcast"),
        (
            lambda: cr.addmm(cr.ones(2), cr.ones(2, 2), cr.ones(2, 2, dtype="float64")),
            "one dtype",
        ),
        (lambda: cr.baddbmm(cr.ones(2), cr.ones(2, 2, 2), cr.ones(3, 2, 2)), "batch"),
        (lambda: cr.addcmul(cr.ones(2), cr.ones(3), cr.ones(2)), "broadcast"),
        (lambda: cr.addcdiv(cr.ones(2), cr.tensor([1]), cr.tensor([2])), "integer division"),
        (lambda: cr.cross(cr.ones(3, 3), cr.ones(3, 3)), "pass dim="),
        (lambda: cr.cross(cr.ones(2, 4), cr.ones(2, 4)), "length 3"),
        (lambda: cr.cross(cr.ones(3), cr.ones(2, 3)), "same number of dimensions"),
        (lambda: cr.cross(cr.ones(3), cr.ones(3, dtype="float64")), "one dtype"),
        (lambda: cr.cdist(cr.ones(3), cr.ones(2, 3)), "2-D"),
        (lambda: cr.cdist(cr.ones(2, 3), cr.ones(2, 2)), "columns"),
        (lambda: cr.cdist(cr.tensor([[1, 2]]), cr.tensor([[1, 2]])), "floating-point"),
        (lambda: cr.cdist(cr.ones(2, 3), cr.ones(2, 3), p=3), "p=1, 2 and float"),
        (lambda: cr.cdist(cr.ones(2, 3), cr.ones(2, 3), p=-1), "not supported"),
        (lambda: cr.cdist(cr.ones(2, 2, 3), cr.ones(3, 2, 3)), "batch dims"),
        (lambda: cr.cumprod(cr.ones(2, 3), 2), "out of range"),
        (lambda: cr.repeat_interleave(cr.ones(3), cr.tensor([1, 2]), dim=0), "2 repeats for 3"),
        (lambda: cr.repeat_interleave(cr.ones(3), -1), "non-negative"),
        (lambda: cr.repeat_interleave(cr.ones(3), cr.tensor([1.0])), "integers"),
        (lambda: cr.repeat_interleave(cr.ones(2), 2, output_size=5), "output_size"),
        (lambda: cr.searchsorted(cr.ones(2, 3), cr.ones(3, 1)), "leading dims"),
        (lambda: cr.searchsorted(cr.tensor(1.0), cr.ones(1)), "at least 1 dimension"),
        (lambda: cr.searchsorted(cr.ones(3), cr.ones(1), right=True, side="left"), "contradict"),
        (lambda: cr.mode(cr.zeros(2, 0), 1), "empty"),
        (lambda: cr.mode(cr.tensor([1.0, float("nan"), 1.0])), "NaN"),
    ],
)
def test_bad_input_names_the_problem(call, match):
    with pytest.raises(Exception, match=match):
        call()
