"""scatter_reduce (sum, prod, mean, amax, amin, include_self) and scatter(reduce=) against
PyTorch: values, gradients (ties, zeros), in-place forms, integer and bool dtypes, errors."""

import warnings

import numpy as np
import pytest
from op_check import case, check_case, ids, same_as_torch

import chainrule as cr
from chainrule.testing import gradgradcheck

torch = pytest.importorskip("torch")
# PyTorch's deprecation warning for scatter(reduce=) with a tensor src
pytestmark = pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")
# dim 1 of a (3, 4) input with a (3, 4) index: repeats, untouched positions
INDEX = [[0, 2, 0, 0], [3, 3, 3, 1], [1, 0, 1, 2]]
IDX, T_IDX = cr.tensor(INDEX), torch.tensor(INDEX)


def distinct(rng, shape):
    return rng.permutation(np.arange(1, int(np.prod(shape)) + 1)).reshape(shape) / 7.0


def between(rng, shape):
    """Like ``distinct``, halfway between its values (so input and src never tie)."""
    return distinct(rng, shape) + 0.5 / 7


def with_ties(rng, shape):
    return rng.integers(-2, 3, shape).astype(float)


def off_ties(rng, shape):
    return with_ties(rng, shape) + 0.25


def _cases(reduce: str, include_self: bool) -> list:
    name = f"scatter_reduce_{reduce}_{include_self}"
    # finite differences need no ties
    domain = (distinct, between) if reduce in ("amax", "amin") else None
    options = {"domain": domain} if domain else {}
    return [
        *case(
            name,
            lambda a, s: cr.scatter_reduce(a, 1, IDX, s, reduce, include_self=include_self),
            lambda a, s: torch.scatter_reduce(a, 1, T_IDX, s, reduce, include_self=include_self),
            [((3, 4), (3, 4))],
            **options,
        ),
        *case(
            name + "_dim0_method",
            lambda a, s: a.scatter_reduce(
                -2, IDX[:2, :3] % 2, s, reduce, include_self=include_self
            ),
            lambda a, s: a.scatter_reduce(
                -2, T_IDX[:2, :3] % 2, s, reduce, include_self=include_self
            ),
            [((2, 3), (2, 3))],
            **options,
        ),
        *case(  # ties and zeros: gradients as PyTorch shares them (no finite differences)
            name + "_ties",
            lambda a, s: a.scatter_reduce(1, IDX, s, reduce, include_self=include_self),
            lambda a, s: a.scatter_reduce(1, T_IDX, s, reduce, include_self=include_self),
            [((3, 4), (3, 4))],
            # without include_self, an input equal to the result is PyTorch's quirk (tested below)
            domain=(with_ties if include_self else off_ties, with_ties),
            gradcheck=reduce in ("sum", "mean", "prod"),  # smooth there even with ties/zeros
        ),
    ]


CASES = [c for r in REDUCTIONS for inc in (True, False) for c in _cases(r, inc)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_scatter_reduce_matches_torch(c, dtype):
    check_case(c, dtype)


def _both(reduce, x, src, index, dim=0, include_self=True, grad=True):
    ours_in = [
        cr.tensor(x, dtype="float64", requires_grad=grad),
        cr.tensor(src, dtype="float64", requires_grad=grad),
    ]
    theirs_in = [
        torch.tensor(x, dtype=torch.float64, requires_grad=grad),
        torch.tensor(src, dtype=torch.float64, requires_grad=grad),
    ]
    ours = ours_in[0].scatter_reduce(
        dim, cr.tensor(index), ours_in[1], reduce, include_self=include_self
    )
    theirs = theirs_in[0].scatter_reduce(
        dim, torch.tensor(index), theirs_in[1], reduce, include_self=include_self
    )
    return ours_in, theirs_in, ours, theirs


@pytest.mark.parametrize("include_self", [True, False])
def test_prod_gradient_is_exact_with_one_and_two_zeros(include_self):
    x, src = [2.0, 0.0, 3.0, 5.0], [0.0, 4.0, 0.0, 0.0, 7.0, 6.0]
    index = [0, 0, 1, 3, 3, 2]  # one zero into 0, a zero onto self's zero, two zeros into 3
    ours_in, theirs_in, ours, theirs = _both("prod", x, src, index, include_self=include_self)
    ours.backward(cr.tensor([1.0, 2.0, 3.0, 4.0], dtype="float64"))
    theirs.backward(torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64))
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-12)
    assert np.any(ours_in[1].grad != 0)  # the lone zero's gradient is the others' product


@pytest.mark.parametrize("reduce", ["amax", "amin"])
def test_amax_amin_share_the_gradient_among_ties_and_nan_propagates(reduce):
    x, src, index = [1.0, 3.0, -1.0], [3.0, 3.0, 1.0, -1.0, -1.0, 0.5], [1, 1, 0, 2, 2, 0]
    ours_in, theirs_in, ours, theirs = _both(reduce, x, src, index, 0, True)
    same_as_torch(ours.detach(), theirs.detach())
    ours.sum().backward()
    theirs.sum().backward()
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-12)
    # without include_self the input's own values take no part: PyTorch still counts one that
    # equals the result as a tie and drops its share (src's gradient sums to 1/2, not 1).
    # chainrule does not; the oracle is PyTorch with those inputs moved off the tie.
    ours_in, _, ours, _ = _both(reduce, x, src, index, 0, False)
    _, theirs_in, _, theirs = _both(reduce, [99.0] * 3, src, index, 0, False)
    same_as_torch(ours.detach(), theirs.detach())
    ours.sum().backward()
    theirs.sum().backward()
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(ours_in[1].grad.sum(), 3.0)  # every output's gradient arrives
    nan = float("nan")  # NaN wins and ties with nothing: NaN gradients there, as PyTorch's
    ours_in, theirs_in, ours, theirs = _both(reduce, [1.0, nan, 3.0], [7.0, nan, 9.0], [0, 0, 2])
    same_as_torch(ours.detach(), theirs.detach())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and without NumPy's warnings
        ours.sum().backward()
    theirs.sum().backward()
    for a, b in zip(ours_in, theirs_in):
        np.testing.assert_array_equal(a.grad, b.grad.numpy())
    *_, ours, theirs = _both(reduce, [1.0, nan, 3.0], [7.0, nan, 9.0], [0, 0, 2], 0, False)
    same_as_torch(ours.detach(), theirs.detach())


def test_second_derivatives_pass_through_scatter_reduce():
    rng = np.random.default_rng(0)
    index = cr.tensor([[0, 2, 0, 0], [1, 1, 2, 1]])
    for reduce in REDUCTIONS:
        x = cr.tensor(distinct(rng, (2, 3)), dtype="float64", requires_grad=True)
        src = cr.tensor(distinct(rng, (2, 4)) - 1, dtype="float64", requires_grad=True)
        for include_self in (True, False):

            def f(a, s, reduce=reduce, include_self=include_self):
                return a.scatter_reduce(1, index, s, reduce, include_self=include_self).tanh()

            assert gradgradcheck(f, x, src)


def test_integer_and_bool_scatter_reduce_match_torch():
    x, src = np.array([[1, 2, 3], [4, 5, 7]]), np.array([[2, 2, -7], [0, 0, 1]])
    index = [[0, 0, 1], [2, 2, 2]]
    for reduce in REDUCTIONS:
        for include_self in (True, False):
            ours = cr.tensor(x).scatter_reduce(
                1, cr.tensor(index), cr.tensor(src), reduce, include_self=include_self
            )
            theirs = torch.tensor(x).scatter_reduce(
                1, torch.tensor(index), torch.tensor(src), reduce, include_self=include_self
            )
            same_as_torch(ours, theirs)  # the integer mean rounds down (-5/2 is -3)
    flags, written = [True, False, False], [False, True, True]
    for reduce in ("sum", "prod", "amax", "amin"):
        ours = cr.tensor(flags).scatter_reduce(0, cr.tensor([0, 1, 2]), cr.tensor(written), reduce)
        same_as_torch(
            ours,
            torch.tensor(flags).scatter_reduce(
                0, torch.tensor([0, 1, 2]), torch.tensor(written), reduce
            ),
        )
    with pytest.raises(NotImplementedError):
        torch.tensor(flags).scatter_reduce(0, torch.tensor([0]), torch.tensor([True]), "mean")
    with pytest.raises(NotImplementedError, match="bool"):
        cr.tensor(flags).scatter_reduce(0, cr.tensor([0]), cr.tensor([True]), "mean")


def test_scatter_reduce_edges_match_torch():
    x = np.arange(6.0).reshape(2, 3)
    # an empty index leaves the input as it was; a 0-d input; PyTorch's aliases max and min
    empty = np.zeros((2, 0), np.int64)
    same_as_torch(
        cr.tensor(x, dtype="float64").scatter_reduce(
            1, cr.tensor(empty), cr.ones(2, 3).double(), "prod"
        ),
        torch.tensor(x).scatter_reduce(1, torch.tensor(empty), torch.ones(2, 3).double(), "prod"),
    )
    same_as_torch(
        cr.tensor(2.0).scatter_reduce(0, cr.tensor(0), cr.tensor(5.0), "sum"),
        torch.tensor(2.0).scatter_reduce(0, torch.tensor(0), torch.tensor(5.0), "sum"),
    )
    for alias in ("max", "min"):
        same_as_torch(
            cr.tensor(x).scatter_reduce(1, cr.tensor([[0, 0]]), cr.tensor(x), alias).double(),
            torch.tensor(x)
            .float()
            .scatter_reduce(1, torch.tensor([[0, 0]]), torch.tensor(x).float(), alias)
            .double(),
        )


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda lib, x, s: x.scatter_reduce(1, lib.tensor([[3]]), s, "sum"), RuntimeError),
        (lambda lib, x, s: x.scatter_reduce(1, lib.tensor([[-1]]), s, "sum"), RuntimeError),
        (lambda lib, x, s: x.scatter_reduce(2, lib.tensor([[0]]), s, "sum"), IndexError),
        (lambda lib, x, s: x.scatter_reduce(1, lib.tensor([[0.0]]), s, "sum"), RuntimeError),
        (lambda lib, x, s: x.scatter_reduce(1, lib.tensor([[0]]), s.double(), "sum"), RuntimeError),
        (lambda lib, x, s: x.scatter_reduce(1, lib.zeros(3, 1).long(), s, "sum"), RuntimeError),
        (
            lambda lib, x, s: x.scatter_reduce(1, lib.tensor([[0]]), s, "add"),
            RuntimeError,
        ),
        (
            lambda lib, x, s: x.scatter(1, lib.tensor([[0]]), s, reduce="mean"),
            RuntimeError,
        ),
        (lambda lib, x, s: x.scatter_(1, lib.tensor([[0]]), 2.0, reduce="sum"), RuntimeError),
        (lambda lib, x, s: x.scatter_reduce_(1, lib.tensor([[0]]), s, "bad"), RuntimeError),
        (lambda lib, x, s: x.scatter(1, lib.tensor([[3]]), s, reduce="add"), RuntimeError),
    ],
)
def test_scatter_reduce_errors_as_torch(call, error):
    for lib in (torch, cr):
        x, s = lib.zeros(2, 3), lib.ones(2, 3)
        with pytest.raises(error):
            call(lib, x, s)


def test_scatter_with_reduce_matches_torch_and_has_no_derivative():
    x = np.arange(6).reshape(2, 3)
    index = [[0, 0, 1], [2, 2, 2]]
    for reduce in ("add", "multiply"):
        for lib_src in (lambda lib: lib.tensor(x + 1), lambda lib: 2.7):
            ours = cr.tensor(x).scatter(1, cr.tensor(index), lib_src(cr), reduce=reduce)
            theirs = torch.tensor(x).scatter(1, torch.tensor(index), lib_src(torch), reduce=reduce)
            same_as_torch(ours, theirs)  # 2.7 is 2 in an integer tensor
        ours, theirs = cr.tensor(x).double(), torch.tensor(x).double()
        assert ours.scatter_(1, cr.tensor(index), 1.5, reduce=reduce) is ours
        theirs.scatter_(1, torch.tensor(index), 1.5, reduce=reduce)
        same_as_torch(ours, theirs)
    leaf = cr.zeros(3, requires_grad=True)
    out = leaf.scatter(0, cr.tensor([0, 0]), cr.ones(2), reduce="add")  # forward works
    np.testing.assert_array_equal(out.detach().numpy(), [2.0, 0.0, 0.0])
    with pytest.raises(NotImplementedError, match="scatter_reduce"):
        out.sum().backward()


def test_src_larger_than_the_index_gets_zero_gradient_past_it():
    """PyTorch 2.13's backward fails here ("invalid gradient ... expected shape compatible"),
    for scatter and scatter_add too; chainrule gives the gradient of the part that was read."""
    rng = np.random.default_rng(3)
    x, src = rng.standard_normal((3, 4)), rng.standard_normal((3, 5))
    upstream = rng.standard_normal((3, 4))
    for reduce in REDUCTIONS:
        ours_in, theirs_in, ours, theirs = _both(reduce, x, src[:, :4], INDEX, dim=1)
        big = cr.tensor(src, dtype="float64", requires_grad=True)
        ours = ours_in[0].scatter_reduce(1, IDX, big, reduce)
        ours.backward(cr.tensor(upstream, dtype="float64"))
        theirs.backward(torch.tensor(upstream))
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(big.grad[:, :4], theirs_in[1].grad.numpy(), rtol=1e-12)
        np.testing.assert_array_equal(big.grad[:, 4], 0.0)


def test_in_place_scatter_reduce_matches_torch():
    x, src = np.arange(12.0).reshape(3, 4), np.arange(12.0).reshape(3, 4) - 7
    for reduce in REDUCTIONS:
        ours, theirs = cr.tensor(x, dtype="float64"), torch.tensor(x)
        assert ours.scatter_reduce_(1, IDX, cr.tensor(src, dtype="float64"), reduce) is ours
        theirs.scatter_reduce_(1, T_IDX, torch.tensor(src), reduce)
        same_as_torch(ours, theirs)
        assert ours._version == 1
    # a source that requires grad: recorded as PyTorch's (was a GraphError; inplace_graph_ops)
    src_ours = cr.tensor(src, dtype="float64", requires_grad=True)
    src_theirs = torch.tensor(src, requires_grad=True)
    ours = cr.zeros(3, 4, dtype="float64").scatter_reduce_(1, IDX, src_ours, "sum")
    theirs = torch.zeros(3, 4, dtype=torch.float64).scatter_reduce_(1, T_IDX, src_theirs, "sum")
    (ours * ours).sum().backward()
    (theirs * theirs).sum().backward()
    same_as_torch(src_ours.grad, src_theirs.grad)
