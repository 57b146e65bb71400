"""ops/math.py and ops/indexing.py against PyTorch and float64 finite differences."""

import numpy as np
import pytest
from op_check import BINARY, UNARY, away_from_zero, case, check_case, ids, normal, positive

import chainrule as cr

torch = pytest.importorskip("torch")


def inside_unit(rng, shape):
    return rng.uniform(-0.9, 0.9, shape)


def off_half(rng, shape):
    """Values away from the jumps of floor/ceil/round/trunc (x.5 and integers)."""
    return rng.integers(-3, 3, shape) + rng.uniform(0.1, 0.4, shape)


IDX_ROWS = np.array([[1, 0, 2], [2, 2, 0], [0, 1, 1], [2, 0, 1]])  # for (4, 3) inputs, dim=1
IDX_COLS = np.array([[3, 0, 1], [0, 2, 3]])  # (2, 3) index into (4, 3), dim=0
SELECT = np.array([2, 0, 2])
MASK = np.array([[True, False, True], [False, False, True], [True, True, False], [False] * 3])


def t_(a):
    return torch.from_numpy(a)


M43 = [((4, 3),)]
CASES = [
    *case("sin", cr.sin, torch.sin, UNARY),
    *case("cos", cr.cos, torch.cos, UNARY),
    *case("tan", cr.tan, torch.tan, UNARY, domain=inside_unit),
    *case("asin", cr.asin, torch.asin, UNARY, domain=inside_unit),
    *case("acos", cr.acos, torch.acos, UNARY, domain=inside_unit),
    *case("atan", cr.atan, torch.atan, UNARY),
    *case("atan2", cr.atan2, torch.atan2, BINARY, domain=[normal, away_from_zero]),
    *case("sinh", cr.sinh, torch.sinh, UNARY),
    *case("cosh", cr.cosh, torch.cosh, UNARY),
    *case("rsqrt", cr.rsqrt, torch.rsqrt, UNARY, domain=positive),
    *case("reciprocal", cr.reciprocal, torch.reciprocal, UNARY, domain=away_from_zero),
    *case("erf", cr.erf, torch.erf, UNARY),
    *case("floor", cr.floor, torch.floor, UNARY, domain=off_half),
    *case("ceil", cr.ceil, torch.ceil, UNARY, domain=off_half),
    *case("round", cr.round, torch.round, UNARY, domain=off_half),
    *case("trunc", cr.trunc, torch.trunc, UNARY, domain=off_half),
    *case("sign", cr.sign, torch.sign, UNARY, domain=away_from_zero),
    *case(
        "gather",
        lambda a: cr.gather(a, 1, cr.tensor(IDX_ROWS)),
        lambda a: torch.gather(a, 1, t_(IDX_ROWS)),
        M43,
    ),
    *case(
        "gather_dim0",
        lambda a: cr.gather(a, 0, cr.tensor(IDX_COLS % 4)),
        lambda a: torch.gather(a, 0, t_(IDX_COLS % 4)),
        M43,
    ),
    *case(
        "scatter",
        lambda a, s: cr.scatter(a, 0, cr.tensor(IDX_COLS[:, :2] % 4), s),
        lambda a, s: torch.scatter(a, 0, t_(IDX_COLS[:, :2] % 4), s),
        [((4, 3), (2, 2))],
    ),
    *case(
        "index_select",
        lambda a: cr.index_select(a, 1, cr.tensor(SELECT)),
        lambda a: torch.index_select(a, 1, t_(SELECT)),
        M43,
    ),
    *case(
        "masked_fill",
        lambda a: cr.masked_fill(a, cr.tensor(MASK), -1.5),
        lambda a: a.masked_fill(t_(MASK), -1.5),
        M43,
    ),
    *case("cumsum", lambda a: cr.cumsum(a, 0), lambda a: torch.cumsum(a, 0), UNARY),
    *case("cumsum_last", lambda a: cr.cumsum(a, -1), lambda a: torch.cumsum(a, -1), M43),
    *case("prod", cr.prod, torch.prod, UNARY),
    *case("prod_dim", lambda a: cr.prod(a, 1), lambda a: torch.prod(a, 1), M43),
    *case(
        "prod_keepdim",
        lambda a: cr.prod(a, 0, keepdim=True),
        lambda a: torch.prod(a, 0, keepdim=True),
        M43,
    ),
    *case(
        "F.pad",
        lambda a: cr.nn.functional.pad(a, (1, 2, 0, 1), value=0.5),
        lambda a: torch.nn.functional.pad(a, (1, 2, 0, 1), value=0.5),
        [((4, 3),), ((2, 3, 4),)],
    ),
]


@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_op_matches_torch(c, dtype):
    check_case(c, dtype)


def test_prod_gradient_with_zeros_matches_torch():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]])
    ours = cr.tensor(x, dtype="float64", requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    cr.prod(ours, 1).sum().backward()
    torch.prod(theirs, 1).sum().backward()
    np.testing.assert_allclose(np.asarray(ours.grad), theirs.grad.numpy())


@pytest.mark.parametrize("shape, dim", [((0,), None), ((2, 0), 1), ((0, 3), 0), ((0, 3), 1)])
def test_prod_of_nothing_is_one_with_empty_gradients(shape, dim):
    ours = cr.zeros(*shape, dtype="float64", requires_grad=True)
    theirs = torch.zeros(*shape, dtype=torch.float64, requires_grad=True)
    out, ref = (ours.prod(), theirs.prod()) if dim is None else (ours.prod(dim), theirs.prod(dim))
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), ref.detach().numpy())
    assert ours.grad.shape == tuple(theirs.grad.shape)


def test_where_one_argument_and_one_hot_match_torch():
    x = np.array([[0, 3], [5, 0]])
    ours = [i.tolist() for i in cr.where(cr.tensor(x) > 0)]
    assert ours == [i.tolist() for i in torch.where(t_(x) > 0)]
    labels = np.array([2, 0, 1])
    assert (
        cr.one_hot(cr.tensor(labels), 4).tolist()
        == torch.nn.functional.one_hot(t_(labels), 4).tolist()
    )
    assert cr.one_hot(cr.tensor(labels)).dtype == np.int64


def test_integer_inputs_follow_torch():
    ints = np.array([1, -2, 3])
    assert cr.sin(cr.tensor(ints)).dtype == np.float32  # int -> default float, as torch
    assert cr.floor(cr.tensor(ints)).tolist() == torch.floor(t_(ints)).tolist()
    assert cr.prod(cr.tensor(ints)).item() == torch.prod(t_(ints)).item()
    assert cr.cumsum(cr.tensor(ints), 0).tolist() == torch.cumsum(t_(ints), 0).tolist()


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda: cr.gather(cr.zeros(2, 2), 1, cr.tensor([[0.5]])), cr.DTypeError),
        (lambda: cr.gather(cr.zeros(2, 2), 1, cr.tensor([0, 1])), cr.ShapeError),
        (lambda: cr.gather(cr.zeros(2, 2), 1, cr.tensor([[5], [0]])), cr.ShapeError),
        (lambda: cr.gather(cr.zeros(2, 2), 3, cr.tensor([[0], [0]])), cr.ShapeError),
        (lambda: cr.index_select(cr.zeros(2, 2), 0, cr.tensor([2])), cr.ShapeError),
        (lambda: cr.masked_fill(cr.zeros(2, 2), cr.tensor([1, 0]), 0.0), cr.DTypeError),
        (lambda: cr.masked_fill(cr.zeros(2, 2), cr.tensor([True] * 3), 0.0), cr.ShapeError),
        (lambda: cr.one_hot(cr.tensor([3]), 2), ValueError),
        (lambda: cr.nn.functional.pad(cr.zeros(2), (1, 1, 1, 1)), cr.ShapeError),
        (lambda: cr.nn.functional.pad(cr.zeros(2), (1, 1), mode="reflect"), NotImplementedError),
        (lambda: cr.scatter(cr.zeros(2), 0, cr.tensor([0])), TypeError),
    ],
)
def test_bad_input_raises_typed_error(call, error):
    with pytest.raises(error):
        call()


@pytest.mark.parametrize("axis", [0, 1])
def test_long_float32_running_sums_have_pytorchs_bits(axis):
    # PyTorch adds float32 in float64; NumPy's float32 running sum drifts (1 % over 10⁶ values)
    x = np.random.default_rng(0).standard_normal((6, 4000)).astype(np.float32)
    upstream = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    ours = cr.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out_ours, out_theirs = ours.cumsum(axis), theirs.cumsum(axis)
    np.testing.assert_array_equal(out_ours.detach().numpy(), out_theirs.detach().numpy())
    out_ours.backward(upstream)
    out_theirs.backward(torch.tensor(upstream))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert cr.full((10**6,), 0.1).cumsum(0)[-1].item() == 100000.0


def test_cumsum_and_prod_take_a_dtype():
    for dtype in ("float32", "float64", "int64"):
        ours = (
            cr.tensor([1, 2, 3]).cumsum(0, dtype=dtype),
            cr.prod(cr.tensor([1, 2, 3]), dtype=dtype),
        )
        theirs = (
            torch.tensor([1, 2, 3]).cumsum(0, dtype=getattr(torch, dtype)),
            torch.prod(torch.tensor([1, 2, 3]), dtype=getattr(torch, dtype)),
        )
        for o, t in zip(ours, theirs):
            assert o.tolist() == t.tolist() and str(o.dtype) == dtype
