"""PyTorch names added for code ported from PyTorch: log1p, expm1, flip, chunk, norm and the
value tests (isnan, isinf, isfinite, isclose, allclose, equal), against PyTorch and float64
finite differences; and the NotSupportedError hint for Tensor methods chainrule lacks."""

import math
import re

import numpy as np
import pytest
from op_check import UNARY, case, check_case, ids, normal

import chainrule as cr

torch = pytest.importorskip("torch")


def above_minus_one(rng, shape):
    return rng.uniform(-0.9, 3.0, shape)


def distinct(rng, shape):
    """Normal values with no ties in |x| (the ∞-norm's gradient goes to one entry)."""
    return rng.permutation(np.arange(1, int(np.prod(shape)) + 1)).reshape(shape) * (
        rng.choice([-1.0, 1.0], shape) / 7
    )


M43 = [((4, 3),)]
M234 = [((2, 3, 4),)]
CASES = [
    *case("log1p", cr.log1p, torch.log1p, UNARY, domain=above_minus_one),
    *case("expm1", cr.expm1, torch.expm1, UNARY),
    *case("flip0", lambda a: cr.flip(a, 0), lambda a: torch.flip(a, [0]), M43),
    *case("flip_method", lambda a: a.flip(0, 2), lambda a: a.flip(0, 2), M234),
    *case("flip_tuple", lambda a: a.flip((-1,)) * a, lambda a: a.flip((-1,)) * a, M234),
    *case(
        "chunk",
        lambda a: cr.cat([p * (i + 1) for i, p in enumerate(a.chunk(3, 1))], 1),
        lambda a: torch.cat([p * (i + 1) for i, p in enumerate(a.chunk(3, 1))], 1),
        [((2, 7),)],
    ),
    *case("norm", lambda a: a.norm(), lambda a: a.norm(), UNARY[1:]),
    *case("norm_dim", lambda a: a.norm(dim=1), lambda a: a.norm(dim=1), M43 + M234),
    *case(
        "norm_dims_keep",
        lambda a: cr.norm(a, 2, dim=(0, 2), keepdim=True),
        lambda a: torch.norm(a, 2, dim=(0, 2), keepdim=True),
        M234,
    ),
    *case("norm_fro_2d", lambda a: a.norm("fro", (0, 1)), lambda a: a.norm("fro", (0, 1)), M43),
    *case("norm_p1", lambda a: a.norm(p=1, dim=-1), lambda a: a.norm(p=1, dim=-1), M43 + M234),
    *case(
        "norm_inf",
        lambda a: a.norm(p=math.inf, dim=0),
        lambda a: a.norm(p=math.inf, dim=0),
        M43,
        domain=distinct,
    ),
    *case("norm_inf_all", lambda a: a.norm(p=math.inf), lambda a: a.norm(p=math.inf), M234),
    *case(
        "einsum_mm",
        lambda a, b: cr.einsum("ij,jk->ik", a, b),
        lambda a, b: torch.einsum("ij,jk->ik", a, b),
        [((4, 3), (3, 5))],
    ),
    *case(
        "einsum_bmm",
        lambda a, b: cr.einsum("bij,bjk->bik", a, b),
        lambda a, b: torch.einsum("bij,bjk->bik", a, b),
        [((2, 3, 4), (2, 4, 5))],
    ),
    *case(
        "einsum_sum_only_here",
        lambda a, b: cr.einsum("ij,jk->i", a, b),
        lambda a, b: torch.einsum("ij,jk->i", a, b),
        [((4, 3), (3, 5))],
    ),
    *case(
        "einsum_three",
        lambda a, b, c: cr.einsum("ij,jk,kl->li", [a, b, c]),
        lambda a, b, c: torch.einsum("ij,jk,kl->li", [a, b, c]),
        [((2, 3), (3, 4), (4, 2))],
    ),
    *case(
        "einsum_implicit",
        lambda a, b: cr.einsum("ij,ik", a, b),
        lambda a, b: torch.einsum("ij,ik", a, b),
        [((4, 3), (4, 2))],
    ),
    *case("einsum_full", lambda a: cr.einsum("ijk->", a), lambda a: torch.einsum("ijk->", a), M234),
    *case(
        "einsum_outer_permute",
        lambda a, b: cr.einsum("i,jk->kji", a, b),
        lambda a, b: torch.einsum("i,jk->kji", a, b),
        [((3,), (2, 4))],
    ),
    *case("roll", lambda a: a.roll(1, 1) * a, lambda a: a.roll(1, 1) * a, M43),
    *case(
        "roll_dims",
        lambda a: cr.roll(a, (2, -1), (0, 2)) * a,
        lambda a: torch.roll(a, (2, -1), (0, 2)) * a,
        M234,
    ),
    *case("roll_flat", lambda a: a.roll(5) * a, lambda a: a.roll(5) * a, M43),
    *case("repeat", lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3), M43),
    *case("tile", lambda a: a.tile((2,)), lambda a: a.tile((2,)), M43),
    *case("tril", lambda a: a.tril(), lambda a: a.tril(), M43 + M234),
    *case(
        "triu_diag",
        lambda a: cr.triu(a, 1) + a.tril(-1),
        lambda a: torch.triu(a, 1) + a.tril(-1),
        M43,
    ),
    *case("dot", lambda a, b: cr.dot(a, b), lambda a, b: torch.dot(a, b), [((5,), (5,))]),
    *case("outer", lambda a, b: a.outer(b), lambda a, b: a.outer(b), [((3,), (4,))]),
    *case(
        "smooth_l1",
        lambda a, b: cr.nn.functional.smooth_l1_loss(a, b, beta=0.5),
        lambda a, b: torch.nn.functional.smooth_l1_loss(a, b, beta=0.5),
        [((4, 3), (4, 3))],
        domain=[normal, lambda r, s: r.standard_normal(s) * 0.3],
    ),
    *case(
        "smooth_l1_module_sum",
        lambda a, b: cr.nn.SmoothL1Loss(reduction="sum", beta=2.0)(a, b),
        lambda a, b: torch.nn.SmoothL1Loss(reduction="sum", beta=2.0)(a, b),
        [((4, 3), (4, 3))],
        domain=[lambda r, s: r.standard_normal(s) * 3, normal],
    ),
    *case(
        "normalize",
        lambda a: cr.nn.functional.normalize(a),
        lambda a: torch.nn.functional.normalize(a),
        M43 + M234,
    ),
    *case(
        "normalize_p1_dim0",
        lambda a: cr.nn.functional.normalize(a, p=1, dim=0),
        lambda a: torch.nn.functional.normalize(a, p=1, dim=0),
        M43,
        domain=distinct,
    ),
    *case("sort", lambda a: a.sort()[0] * a, lambda a: a.sort()[0] * a, M43 + M234),
    *case(
        "sort_desc_dim0",
        lambda a: cr.sort(a, 0, descending=True).values,
        lambda a: torch.sort(a, 0, descending=True).values,
        M43,
    ),
    *case("topk", lambda a: a.topk(2).values, lambda a: a.topk(2).values, M43 + M234),
    *case(
        "topk_smallest",
        lambda a: cr.topk(a, 3, dim=0, largest=False)[0],
        lambda a: torch.topk(a, 3, dim=0, largest=False)[0],
        M43,
    ),
    *case(
        "remainder",
        lambda a, b: a % b,
        lambda a, b: a % b,
        [((4, 3), (4, 3)), ((4, 3), (3,))],
        domain=[
            lambda r, s: r.uniform(0.1, 0.9, s) + r.integers(-3, 3, s),
            lambda r, s: r.choice([-1.0, 1.0], s),
        ],
    ),
    *case(
        "fmod",
        lambda a, b: cr.fmod(a, b),
        lambda a, b: torch.fmod(a, b),
        [((4, 3), (4, 3)), ((4, 3), (3,))],
        domain=[
            lambda r, s: r.uniform(0.1, 0.9, s) + r.integers(-3, 3, s),
            lambda r, s: r.choice([-1.3, 1.7], s),
        ],
    ),
    *case(
        "remainder_scalar",  # PyTorch has no derivative of scalar % tensor: values only
        lambda a: 2.5 % (a.abs() + 1),
        lambda a: 2.5 % (a.abs() + 1),
        M43,
        grad=(),
    ),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_op_matches_torch(c, dtype):
    check_case(c, dtype)


def test_log1p_and_expm1_keep_tiny_values_exact():
    tiny = np.array([1e-12, -3e-9], dtype=np.float64)
    ours = cr.tensor(tiny, dtype=cr.float64)
    assert cr.log1p(ours).tolist() == torch.log1p(torch.tensor(tiny)).tolist()
    assert cr.expm1(ours).tolist() == torch.expm1(torch.tensor(tiny)).tolist()
    assert cr.log(1 + ours).tolist() != cr.log1p(ours).tolist()
    assert cr.log1p(cr.tensor([1, 3])).dtype == np.float32  # integers -> default float


@pytest.mark.parametrize(
    "x, p, dim",
    [
        (np.zeros((2, 3)), "fro", None),  # a zero vector: PyTorch's gradient is 0, not NaN
        (np.array([[0.0, 0.0], [3.0, 4.0]]), 2, 1),
        (np.array([[0.0, -2.0, 1.0]]), 1, None),  # sign(0) = 0
        (np.array([[3.0, -3.0, 1.0], [0.0, 0.0, 0.0]]), math.inf, 1),  # a tie, then all zeros
        (np.array([[np.nan, 1.0, 2.0]]), math.inf, 1),  # NaN takes part in the maximum
        (np.array([[np.nan, 1.0]]), 2, None),
    ],
)
def test_norm_gradient_at_the_corners_matches_torch(x, p, dim):
    ours = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, ref = cr.norm(ours, p, dim), torch.norm(theirs, p, dim)
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_norm_rejects_what_it_does_not_have():
    with pytest.raises(ValueError, match=r"p=nan is not supported.*'fro' and any number"):
        cr.tensor([1.0, 2.0]).norm(p=float("nan"))  # any other order p exists (p=3 included)
    with pytest.raises(ValueError, match="p='nuc'"):
        cr.tensor([[1.0, 2.0]]).norm(p="nuc")
    with pytest.raises(cr.DTypeError, match=r"floating-point.*x.float\(\).norm\(\)"):
        cr.tensor([3, 4]).norm()
    with pytest.raises(cr.ShapeError, match="axis 2"):
        cr.zeros(2, 2).norm(dim=2)
    # dtype= converts first, as in PyTorch
    assert cr.tensor([3, 4]).norm(dtype=cr.float64).item() == 5.0


def test_flip_is_a_copy_as_in_torch():
    base = cr.tensor([1.0, 2.0, 3.0])
    flipped = base.flip(0)
    flipped[0] = 10.0
    assert base.tolist() == [1.0, 2.0, 3.0] and flipped.tolist() == [10.0, 2.0, 1.0]
    with pytest.raises(ValueError, match="same axis"):
        cr.zeros(2, 2).flip((0, -2))
    with pytest.raises(cr.ShapeError, match="dim 2 is out of range"):
        cr.zeros(2, 2).flip(2)


@pytest.mark.parametrize("n, chunks", [(7, 3), (6, 3), (5, 4), (2, 5), (1, 1), (0, 3)])
def test_chunk_sizes_match_torch(n, chunks):
    ours = cr.zeros(n, 2).chunk(chunks)
    theirs = torch.zeros(n, 2).chunk(chunks)
    assert isinstance(ours, tuple)
    assert [p.shape for p in ours] == [tuple(p.shape) for p in theirs]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            cr.zeros(3).chunk(bad)


def test_split_returns_a_tuple_and_rejects_zero():
    assert isinstance(cr.arange(5).split(2), tuple)
    assert [p.tolist() for p in cr.arange(5).split(2)] == [[0, 1], [2, 3], [4]]
    with pytest.raises(ValueError, match="positive integer"):
        cr.arange(5).split(0)


VALUES = np.array([[1.0, np.nan, np.inf], [-np.inf, 0.0, -2.5]], dtype=np.float32)


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_value_tests_match_torch(name):
    for values in (VALUES, np.array([1, 2], dtype=np.int64), np.array([True])):
        ours = getattr(cr, name)(cr.tensor(values))
        method = getattr(cr.tensor(values), name)()
        theirs = getattr(torch, name)(torch.tensor(values))
        assert ours.dtype == np.bool_ and not ours.requires_grad
        assert ours.tolist() == method.tolist() == theirs.tolist()


def test_isclose_allclose_equal_match_torch():
    a = np.array([1.0, 2.0, np.nan], dtype=np.float32)
    pairs = [
        (a, a + np.float32(1e-6)),
        (a, a * np.float32(1.001)),
        (a[:2], np.array([1.0, 2.0], dtype=np.float32)),
        (a[:2], np.array([[1.0, 2.0], [1.0, 2.0]], dtype=np.float32)),  # broadcast
    ]
    for x, y in pairs:
        for kwargs in ({}, {"equal_nan": True}, {"rtol": 0.01, "atol": 0.0}):
            assert cr.allclose(cr.tensor(x), cr.tensor(y), **kwargs) == torch.allclose(
                torch.tensor(x), torch.tensor(y), **kwargs
            )
            assert (
                cr.tensor(x).isclose(cr.tensor(y), **kwargs).tolist()
                == torch.isclose(torch.tensor(x), torch.tensor(y), **kwargs).tolist()
            )
        assert cr.equal(cr.tensor(x), cr.tensor(y)) == torch.equal(torch.tensor(x), torch.tensor(y))
    assert cr.tensor([1.0, 2.0]).equal(cr.tensor([1.0, 2.0]))
    assert not cr.equal(cr.tensor([1.0]), cr.tensor([1.0, 1.0]))  # shapes differ
    with pytest.raises(cr.DTypeError, match="different dtypes"):
        cr.allclose(cr.tensor([1.0]), cr.tensor([1.0], dtype=cr.float64))
    with pytest.raises(RuntimeError):  # PyTorch refuses the same pair
        torch.allclose(torch.tensor([1.0]), torch.tensor([1.0], dtype=torch.float64))


def test_missing_tensor_methods_name_the_nearest_spelling():
    x = cr.tensor([[3.0, 1.0], [2.0, 4.0]])
    for name in ("lu", "cholesky_solve", "cuda"):
        with pytest.raises(cr.NotSupportedError, match=rf"torch.Tensor.{name} is not supported"):
            getattr(x, name)
        assert not hasattr(x, name)  # an AttributeError too
        assert hasattr(torch.zeros(1), name)  # each is a real PyTorch method
    with pytest.raises(AttributeError, match="'Tensor' object has no attribute 'no_such_thing'"):
        x.no_such_thing  # noqa: B018
    assert getattr(x, "no_such_thing", 7) == 7


def test_functional_logsigmoid_is_log_sigmoid():
    x = normal(np.random.default_rng(0), (3, 4)).astype(np.float32)
    ours = cr.nn.functional.logsigmoid(cr.tensor(x))
    np.testing.assert_allclose(
        ours.numpy(), torch.nn.functional.logsigmoid(torch.tensor(x)).numpy(), rtol=1e-6
    )


def test_sum_and_mean_take_dtype_and_mt_swaps_the_last_two_dims():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 7
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    for a, b in (
        (ours.sum(dtype=cr.float64), theirs.sum(dtype=torch.float64)),
        (ours.mean(1, dtype="float64"), theirs.mean(1, dtype=torch.float64)),
        (
            cr.sum(cr.tensor([1, 2, 3]), dtype=cr.float32),
            torch.sum(torch.tensor([1, 2, 3]), dtype=torch.float32),
        ),
    ):
        assert str(a.dtype) == str(b.dtype).removeprefix("torch.")
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    ours.sum(dtype=cr.float64).backward()
    assert ours.grad.dtype == np.float32 and ours.grad.shape == x.shape  # back to the input's dtype
    assert ours.mT.shape == tuple(theirs.mT.shape) == (2, 4, 3)
    np.testing.assert_array_equal(ours.mT.detach().numpy(), theirs.mT.detach().numpy())
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        cr.zeros(3).mT  # noqa: B018


def test_sort_topk_argsort_indices_match_torch_with_ties_and_nan():
    x = np.array([[3.0, 1.0, np.nan, 2.0, 3.0, 1.0], [0.5, -1.0, 0.5, 0.5, 2.0, -np.inf]])
    ours, theirs = cr.tensor(x, dtype=cr.float64), torch.tensor(x)
    for descending in (False, True):
        a = ours.sort(dim=1, descending=descending)
        b = theirs.sort(dim=1, descending=descending, stable=True)
        np.testing.assert_array_equal(a.values.numpy(), b.values.numpy())
        assert a.indices.tolist() == b.indices.tolist()
        assert a.indices.dtype == np.int64
        assert ours.argsort(1, descending).tolist() == b.indices.tolist()
    for k, largest in ((1, True), (3, True), (2, False), (0, True)):
        a, b = ours.topk(k, 1, largest), theirs.topk(k, 1, largest)
        np.testing.assert_array_equal(a.values.numpy(), b.values.numpy())
        # among tied values PyTorch's topk picks indices in an order it leaves unspecified
        # (here the later of two equal entries first); ours are the earliest, in input order
        picked = np.take_along_axis(x, a.indices.numpy(), 1)
        np.testing.assert_array_equal(picked, b.values.numpy())
        assert all(len(set(row)) == k for row in a.indices.tolist())
    with pytest.raises(cr.ShapeError, match="k must be an integer from 0 to 6"):
        ours.topk(7)
    with pytest.raises(cr.ShapeError, match="dim 2 is out of range"):
        ours.sort(2)
    value, index = cr.tensor(4.0).sort()
    assert value.item() == 4.0 and index.item() == 0


def test_zero_remainders_keep_the_dividends_sign_as_torch():
    a = np.array([-4.0, 4.0, -0.0, 0.0, -3.5, 3.5, 7.0, -7.0])
    b = np.array([2.0, -2.0, 2.0, -2.0, 3.5, -3.5, 2.0, 2.0])
    for ours, theirs in ((cr.remainder, torch.remainder), (cr.fmod, torch.fmod)):
        for dtype in ("float32", "float64"):
            got = ours(cr.tensor(a, dtype=dtype), cr.tensor(b, dtype=dtype)).numpy()
            want = theirs(torch.tensor(a), torch.tensor(b)).numpy()
            np.testing.assert_array_equal(got, want)
            np.testing.assert_array_equal(np.signbit(got), np.signbit(want))
    assert cr.tensor([7, -7]).fmod(3).tolist() == torch.tensor([7, -7]).fmod(3).tolist()
    with pytest.raises(ZeroDivisionError, match="integer division by zero in fmod"):
        cr.fmod(cr.tensor([7]), cr.tensor([0]))


def test_floor_divide_and_remainder_follow_torch():
    ints = np.array([7, -7, 6, 0])
    for other in (3, -3, np.array([2, -2, 4, 5])):
        for op in (lambda a, b: a // b, lambda a, b: a % b):
            theirs_b = torch.tensor(other) if isinstance(other, np.ndarray) else other
            ours_b = cr.tensor(other) if isinstance(other, np.ndarray) else other
            a, b = op(cr.tensor(ints), ours_b), op(torch.tensor(ints), theirs_b)
            assert a.tolist() == b.tolist() and str(a.dtype) == str(b.dtype).removeprefix("torch.")
    assert (7 // cr.tensor([2, -2])).tolist() == (7 // torch.tensor([2, -2])).tolist()
    assert (cr.tensor([7, -7]) // 2.0).tolist() == [3.0, -4.0]  # a float divisor gives floats
    floats = cr.tensor([1.0, -1.0, 0.0])
    assert (floats // 0).tolist()[:2] == [math.inf, -math.inf] and math.isnan(
        (floats % 0)[0].item()
    )
    with pytest.raises(ZeroDivisionError, match="integer division by zero"):
        cr.tensor([7, 1]) // cr.tensor([1, 0])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        torch.tensor([7, 1]) // torch.tensor([1, 0])
    x = cr.tensor([5.5, -3.5], requires_grad=True)
    (cr.div(x, 2, rounding_mode="floor") + x).sum().backward()  # flat: only + x has a gradient
    assert x.grad.tolist() == [1.0, 1.0]
    with pytest.raises(RuntimeError, match="derivative for aten::floor_divide"):
        (x // 2 + x).sum().backward()  # as PyTorch: // has no derivative
    assert (
        cr.remainder(cr.tensor([5.5]), 2).item() == torch.remainder(torch.tensor([5.5]), 2).item()
    )
    assert cr.tensor([7, -7]).floor_divide(2).tolist() == [3, -4]


def test_einsum_roll_repeat_triangles_refuse_bad_input_clearly():
    a, b = cr.zeros(2, 3), cr.zeros(3, 4)
    for equation, operands, error, words in [
        ("i.j,jk->ik", (a, b), ValueError, "a '.' that is not one '...'"),
        ("ij->ii", (a,), ValueError, "repeats in the output 'ii'"),
        ("ii->i", (a,), cr.ShapeError, "over sizes 2 and 3"),
        ("ij,jk->ik", (a,), ValueError, "names 2 operands, got 1"),
        ("ijk,jk->i", (a, b), cr.ShapeError, "names 3 dimensions"),
        ("ij,ik->jk", (a, b), cr.ShapeError, "index 'i' has sizes 2 and 3"),
        ("ij,jk->iz", (a, b), ValueError, "output indices ['z']"),
        ("ij,jk->ik", (a, b.double()), RuntimeError, "different dtypes"),
    ]:
        with pytest.raises(error, match=re.escape(words)):
            cr.einsum(equation, *operands)
    with pytest.raises(ValueError, match="at least one size per dimension"):
        a.repeat(2)
    with pytest.raises(ValueError, match="2 shifts for 1 dims"):
        a.roll((1, 2), 0)
    with pytest.raises(ValueError, match="one integer"):
        a.roll((1, 2))
    with pytest.raises(cr.ShapeError, match="at least 2 dimensions"):
        cr.zeros(3).tril()
    with pytest.raises(cr.ShapeError, match="1-D"):
        cr.dot(a, a)
    with pytest.raises(cr.ShapeError, match="lengths 2 and 3"):
        cr.zeros(2).dot(cr.zeros(3))


def test_smooth_l1_loss_edges_follow_torch():
    x, t = np.array([0.5, -3.0, 0.0, 1.0], np.float32), np.zeros(4, np.float32)
    for beta in (0.0, 1.0, 0.25):
        for reduction in ("mean", "none"):
            ours = cr.nn.functional.smooth_l1_loss(
                cr.tensor(x), cr.tensor(t), reduction=reduction, beta=beta
            )
            theirs = torch.nn.functional.smooth_l1_loss(
                torch.tensor(x), torch.tensor(t), reduction=reduction, beta=beta
            )
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    assert cr.nn.SmoothL1Loss().beta == 1.0
    l1 = cr.nn.SmoothL1Loss(beta=0)(cr.tensor(x), cr.tensor(t))  # PyTorch's module takes β = 0
    assert l1.item() == pytest.approx(
        torch.nn.SmoothL1Loss(beta=0)(torch.tensor(x), torch.tensor(t)).item()
    )
    with pytest.raises(ValueError, match="beta must be a number ≥ 0"):
        cr.nn.SmoothL1Loss(beta=-1)
    with pytest.raises(ValueError, match="beta must be a number ≥ 0"):
        cr.nn.functional.smooth_l1_loss(cr.tensor(x), cr.tensor(t), beta=-1)


def test_normalize_keeps_a_zero_row_zero_and_count_nonzero_matches_torch():
    x = np.array([[0.0, 0.0, 0.0], [3.0, 0.0, -4.0]], dtype=np.float32)
    ours, theirs = cr.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    a, b = cr.nn.functional.normalize(ours), torch.nn.functional.normalize(theirs)
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-6)
    (a * cr.tensor(x + 1)).sum().backward()
    (b * torch.tensor(x + 1)).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-6, atol=1e-7)
    y = np.array([[0.0, np.nan, 2.0], [0.0, 0.0, -1.0]], dtype=np.float32)
    for dim in (None, 0, 1, (0, 1)):
        got = cr.tensor(y).count_nonzero(dim)
        want = torch.count_nonzero(torch.tensor(y), dim=dim)
        assert got.tolist() == want.tolist() and got.dtype == np.int64


def test_tensor_keeps_cpythons_fast_attribute_lookup():
    # A __getattr__ anywhere in Tensor's classes turns off CPython's specialised attribute
    # look-up for every t.array and t.requires_grad: 20 % of an op's cost, measured. The hints
    # for missing methods are descriptors instead.
    assert all("__getattr__" not in vars(cls) for cls in cr.Tensor.__mro__)
    assert type(cr.Tensor).__getattribute__ is type.__getattribute__


def test_var_mean_std_mean_and_activation_modules_match_torch(tmp_path):
    x = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 5.5]], dtype=np.float32)
    for kwargs in ({}, {"dim": 1}, {"dim": 0, "correction": 0}, {"dim": 1, "keepdim": True}):
        for name in ("var_mean", "std_mean"):
            ours = getattr(cr, name)(cr.tensor(x), **kwargs)
            theirs = getattr(torch, name)(torch.tensor(x), **kwargs)
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6)
    z = np.linspace(-8, 8, 17, dtype=np.float32)
    for ours, theirs in (
        (cr.nn.ReLU6(), torch.nn.ReLU6()),
        (cr.nn.Hardtanh(-2.0, 3.0), torch.nn.Hardtanh(-2.0, 3.0)),
    ):
        assert repr(ours) == repr(theirs)
        np.testing.assert_array_equal(ours(cr.tensor(z)).numpy(), theirs(torch.tensor(z)).numpy())
    model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.ReLU6(), cr.nn.Hardtanh(-0.5, 0.5))
    cr.save(model, tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    assert repr(loaded) == repr(model)
    with pytest.raises(ValueError, match="must be greater than"):
        cr.nn.Hardtanh(1.0, -1.0)


@pytest.mark.parametrize("reduction", ["batchmean", "sum", "mean", "none"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div_matches_torch_with_zero_targets(reduction, log_target):
    logits = np.array([[1.0, 2.0, 3.0], [0.5, 0.1, -1.0]])
    probs = np.array([[0.2, 0.0, 0.8], [0.5, 0.5, 0.0]])
    target = np.log(probs + 0.1) if log_target else probs
    ours_x = cr.tensor(logits, dtype=cr.float64, requires_grad=True)
    ours_t = cr.tensor(target, dtype=cr.float64, requires_grad=True)
    theirs_x = torch.tensor(logits, requires_grad=True)
    theirs_t = torch.tensor(target, requires_grad=True)
    a = cr.nn.KLDivLoss(reduction=reduction, log_target=log_target)(
        cr.log_softmax(ours_x, 1), ours_t
    )
    b = torch.nn.KLDivLoss(reduction=reduction, log_target=log_target)(
        torch.log_softmax(theirs_x, 1), theirs_t
    )
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-15)
    a.sum().backward()
    b.sum().backward()
    for mine, want in ((ours_x, theirs_x), (ours_t, theirs_t)):  # NaN where PyTorch has NaN
        np.testing.assert_allclose(mine.grad.numpy(), want.grad.numpy(), rtol=1e-10, atol=1e-14)
    if not log_target:  # float64 finite differences, away from the zero targets
        x = cr.tensor(logits, dtype=cr.float64, requires_grad=True)
        t = cr.tensor(probs + 0.05, dtype=cr.float64, requires_grad=True)
        cr.gradcheck(lambda x, t: cr.nn.functional.kl_div(x, t, reduction=reduction), x, t)
    with pytest.raises(ValueError, match="batchmean"):
        cr.nn.KLDivLoss(reduction="average")


def test_cosine_similarity_matches_torch_at_zero_vectors_and_when_broadcasting():
    a = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [1e-5, 0.0, 0.0], [1.0, 1.0, 1.0]])
    b = np.array([[2.0, 0.0, 1.0], [1.0, 1.0, 1.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    for x2, kwargs in ((b, {}), (b[:1], {"dim": 1}), (b.T[:, :1].T, {"eps": 1e-3})):
        ours = [cr.tensor(v, dtype=cr.float64, requires_grad=True) for v in (a, x2)]
        theirs = [torch.tensor(v, requires_grad=True) for v in (a, x2)]
        got = cr.nn.functional.cosine_similarity(*ours, **kwargs)
        want = torch.nn.functional.cosine_similarity(*theirs, **kwargs)
        np.testing.assert_allclose(got.detach().numpy(), want.detach().numpy(), rtol=1e-12)
        (got * cr.tensor(np.arange(4.0), dtype=cr.float64)).sum().backward()
        (want * torch.tensor(np.arange(4.0))).sum().backward()
        for mine, ref in zip(ours, theirs):
            np.testing.assert_allclose(mine.grad.numpy(), ref.grad.numpy(), rtol=1e-10, atol=1e-12)
    module = cr.nn.CosineSimilarity(dim=0)
    np.testing.assert_allclose(
        module(cr.tensor(a.T), cr.tensor(b.T)).numpy(),
        torch.nn.CosineSimilarity(dim=0)(torch.tensor(a.T), torch.tensor(b.T)).numpy(),
        rtol=1e-6,
    )
    with pytest.raises(cr.ShapeError, match="do not broadcast"):
        cr.nn.functional.cosine_similarity(cr.zeros(2, 3), cr.zeros(2, 4))
    # away from the clamp (every norm > eps) the gradient is the true derivative
    rng = np.random.default_rng(0)
    x, y = (
        cr.tensor(rng.standard_normal((4, 3)), dtype=cr.float64, requires_grad=True) for _ in "xy"
    )
    cr.gradcheck(lambda x, y: cr.nn.functional.cosine_similarity(x, y), x, y)


def test_no_unsupported_hint_is_left_for_a_name_chainrule_now_has():
    """A name moved from 'not yet' to implemented must leave the hint table (a stale hint would
    say chainrule lacks what it has)."""
    from chainrule.torch_compat import UNSUPPORTED

    has = set(vars(cr)) | set(cr._LAZY)
    stale = [n for n in UNSUPPORTED["torch"] if n in has and n != "onnx"]  # cr.onnx: our export
    assert stale == []


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool", "int64"])
@pytest.mark.parametrize("equation", ["ij->j", "ij->", "ij->ji", "ij,ij->ij"])
def test_integer_einsum_dtype_matches_torch(dtype, equation):
    # one operand summed over is torch's sum(): int64 (it kept int32 / uint8 / bool)
    x = (np.arange(12).reshape(3, 4) % 3).astype(dtype)
    n = equation.count(",") + 1
    theirs = torch.einsum(equation, *[torch.from_numpy(x.copy())] * n)
    ours = cr.einsum(equation, *[cr.tensor(x, dtype=dtype)] * n)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert ours.tolist() == theirs.tolist()
