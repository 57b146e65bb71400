"""rot90, take and logcumsumexp against PyTorch (values, dtypes, shapes, gradients, errors)
and float64 finite differences."""

import numpy as np
import pytest
from op_check import case, check_case, ids

import chainrule as cr
from chainrule.testing import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")

FLAT_INDEX = np.array([[0, 5, -1], [3, -24, 5]])  # a repeat, negatives, both ends of 24 elements
M234 = [((2, 3, 4),)]
CASES = [
    *case("rot90", lambda a: cr.rot90(a) * a.rot90(), lambda a: torch.rot90(a) * a.rot90(), M234),
    *case("rot90_k3", lambda a: a.rot90(3, (2, 1)), lambda a: a.rot90(3, (2, 1)), M234),
    *case(
        "rot90_neg", lambda a: cr.rot90(a, -1, [-1, 0]), lambda a: torch.rot90(a, -1, [-1, 0]), M234
    ),
    *case("rot90_k2", lambda a: a.rot90(2), lambda a: a.rot90(2), [((4, 3),)]),
    *case(
        "take",
        lambda a: cr.take(a, cr.tensor(FLAT_INDEX)) * 2,
        lambda a: torch.take(a, torch.tensor(FLAT_INDEX)) * 2,
        M234,
    ),
    *case(
        "take_method",
        lambda a: a.take(cr.tensor([[5, 5], [0, -1]])),
        lambda a: a.take(torch.tensor([[5, 5], [0, -1]])),
        [((6,),)],
    ),
    *case(
        "take_0d",
        lambda a: a.take(cr.tensor([0, -1, 0])),
        lambda a: a.take(torch.tensor([0, -1, 0])),
        [((),)],
    ),
    *case(
        "logcumsumexp0", lambda a: cr.logcumsumexp(a, 0), lambda a: torch.logcumsumexp(a, 0), M234
    ),
    *case("logcumsumexp_neg", lambda a: a.logcumsumexp(-1), lambda a: a.logcumsumexp(-1), M234),
    *case("logcumsumexp_1", lambda a: a.logcumsumexp(0), lambda a: a.logcumsumexp(0), [((5,),)]),
    *case("logcumsumexp_0d", lambda a: a.logcumsumexp(-1), lambda a: a.logcumsumexp(-1), [((),)]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_op_matches_torch(c, dtype):
    check_case(c, dtype)


def both(fn, array):
    """``fn`` run on a chainrule and a torch float64 tensor of ``array``."""
    return fn(cr.tensor(array, dtype="float64")), fn(torch.tensor(array))


@pytest.mark.parametrize("k", range(-5, 6))
@pytest.mark.parametrize("dims", [(0, 1), (1, 0), (-1, 0), (2, 1), (0, -1)])
def test_rot90_every_k_and_dims_matches_torch(k, dims):
    ours, theirs = both(lambda t: t.rot90(k, dims), np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "shape, dims", [((2, 3), (0,)), ((2, 3), (0, 0)), ((2, 3), (0, 2)), ((3,), (0, 1))]
)
def test_rot90_errors_as_torch(shape, dims):
    with pytest.raises((RuntimeError, IndexError)) as theirs:
        torch.rot90(torch.zeros(shape), 1, dims)
    with pytest.raises(theirs.type):
        cr.rot90(cr.zeros(*shape), 1, dims)


def test_take_keeps_integer_dtypes_and_empty_shapes_as_torch():
    ours, theirs = cr.tensor(np.arange(6)), torch.tensor(np.arange(6))
    index = [[1, -1]]
    assert (
        cr.take(ours, cr.tensor(index)).tolist() == torch.take(theirs, torch.tensor(index)).tolist()
    )
    assert cr.take(ours, cr.tensor(index)).dtype == np.int64
    empty = cr.take(cr.zeros(2, 0), cr.tensor(np.zeros((0, 3), np.int64)))
    assert empty.shape == tuple(
        torch.take(torch.zeros(2, 0), torch.zeros(0, 3, dtype=torch.long)).shape
    )


@pytest.mark.parametrize("index", [24, -25])
def test_take_out_of_range_raises_index_error_as_torch(index):
    with pytest.raises(IndexError):
        torch.take(torch.zeros(2, 3, 4), torch.tensor([index]))
    with pytest.raises(IndexError, match=f"index {index} is out of range"):
        cr.take(cr.zeros(2, 3, 4), cr.tensor([index]))
    with pytest.raises(IndexError):
        cr.take(cr.zeros(0), cr.tensor([0]))


def test_take_rejects_a_float_index():
    with pytest.raises(TypeError, match="integer index"):
        cr.take(cr.zeros(3), cr.tensor([1.0]))


def test_logcumsumexp_is_stable_for_huge_and_minus_infinite_values():
    x = np.array([[-np.inf, 1000.0, -1000.0, 3.0], [800.0, -np.inf, 800.0, 1e4]])
    for dim in (0, 1, -1):
        ours, theirs = both(lambda t, d=dim: t.logcumsumexp(d), x)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy())
    large = np.array([1000.0, 1001.0, 999.0, -500.0])
    ours = cr.tensor(large, dtype="float64", requires_grad=True)
    theirs = torch.tensor(large, requires_grad=True)
    upstream = np.array([1.0, -2.0, 0.5, 3.0])
    cr.logcumsumexp(ours, 0).backward(cr.tensor(upstream, dtype="float64"))
    torch.logcumsumexp(theirs, 0).backward(torch.tensor(upstream))
    assert np.all(np.isfinite(ours.grad))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_logcumsumexp_empty_and_errors_as_torch():
    assert cr.logcumsumexp(cr.zeros(0, 3), 0).shape == (0, 3)
    with pytest.raises(IndexError):
        cr.logcumsumexp(cr.zeros(3), 1)
    with pytest.raises(NotImplementedError, match="floating-point"):
        cr.logcumsumexp(cr.tensor([1, 2]), 0)


def test_gradients_pass_float64_finite_differences():
    rng = np.random.default_rng(0)
    x = cr.tensor(rng.standard_normal((3, 4)) * 5, dtype="float64", requires_grad=True)
    assert gradcheck(lambda t: t.logcumsumexp(1) * t, x)
    assert gradcheck(lambda t: t.rot90(-3, (1, 0)) ** 2, x)
    assert gradcheck(lambda t: t.take(cr.tensor([[0, 0], [-1, 7]])) ** 3, x)


def test_second_derivatives_pass_finite_differences_and_match_torch():
    rng = np.random.default_rng(1)
    array = rng.standard_normal((2, 4)) * 3
    x = cr.tensor(array, dtype="float64", requires_grad=True)
    assert gradgradcheck(lambda t: t.logcumsumexp(1), x)
    assert gradgradcheck(lambda t: t.logcumsumexp(-2) * t, x)
    assert gradgradcheck(lambda t: t.rot90(1, (1, 0)) ** 2, x)
    assert gradgradcheck(lambda t: t.take(cr.tensor([[0, 0], [-1, 7]])) ** 3, x)
    theirs = torch.tensor(array, requires_grad=True)
    (g_theirs,) = torch.autograd.grad(
        torch.logcumsumexp(theirs, 1).sin().sum(), theirs, create_graph=True
    )
    (gg_theirs,) = torch.autograd.grad((g_theirs**2).sum(), theirs)
    (g_ours,) = cr.autograd.grad(cr.logcumsumexp(x, 1).sin().sum(), x, create_graph=True)
    (gg_ours,) = cr.autograd.grad((g_ours**2).sum(), x)
    np.testing.assert_allclose(g_ours.detach().numpy(), g_theirs.detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(gg_ours.numpy(), gg_theirs.numpy(), rtol=1e-9, atol=1e-12)
