"""histc (no gradient), F.pairwise_distance / nn.PairwiseDistance and norm of any order p,
against PyTorch: values, gradients, edges and errors."""

import math

import numpy as np
import pytest
from op_check import away_from_zero, case, check_case, ids, same_as_torch

import chainrule as cr
from chainrule._ranges import torch_linspace
from chainrule.testing import gradgradcheck

torch = pytest.importorskip("torch")
F, TF = cr.nn.functional, torch.nn.functional
ORDERS = (2, 1, 0, 3, 1.5, 0.5, -1, math.inf, -math.inf)


def _pairwise(p, **kw):
    return [
        *case(
            f"pairwise_distance_p{p}_{kw}",
            lambda a, b: F.pairwise_distance(a, b, p=p, **kw),
            lambda a, b: TF.pairwise_distance(a, b, p=p, **kw),
            [((4, 3), (4, 3)), ((2, 3, 4), (4,)), ((3,), (3,)), ((), ())],
            tol={"float32": dict(rtol=2e-4, atol=1e-5)},
        )
    ]


CASES = [
    *[c for p in ORDERS for c in _pairwise(p)],
    *_pairwise(2, keepdim=True),
    *_pairwise(1.5, eps=0.0, keepdim=True),
    *case(
        "pairwise_distance_module",
        lambda a, b: cr.nn.PairwiseDistance(p=3, eps=1e-3, keepdim=True)(a, b),
        lambda a, b: torch.nn.PairwiseDistance(p=3, eps=1e-3, keepdim=True)(a, b),
        [((5, 2), (5, 2))],
    ),
    *[
        c
        for p in (3, 1.5, 0.5, -2, 0, -math.inf)
        for c in case(
            f"norm_p{p}",
            lambda a, p=p: cr.norm(a, p, dim=-1),
            lambda a, p=p: torch.norm(a, p, dim=-1),
            [((4, 3),), ((2, 3, 4),)],
            domain=away_from_zero,
            tol={"float32": dict(rtol=2e-4, atol=1e-5)},
        )
    ],
    *case("norm_p3_all", lambda a: a.norm(3), lambda a: a.norm(3), [((4, 3),), ((),)]),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_matches_torch(c, dtype):
    check_case(c, dtype)


@pytest.mark.parametrize("p", ORDERS)
def test_pairwise_distance_of_equal_and_zero_rows_matches_torch(p):
    """Equal rows (only eps apart), zero entries and ties: PyTorch's norm gradient."""
    a = [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [2.0, -2.0, 0.0]]
    b = [[1.0, 2.0, 3.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    for eps in (1e-6, 0.0):
        ours, theirs = cr.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        d = F.pairwise_distance(ours, cr.tensor(b), p=p, eps=eps)
        t = TF.pairwise_distance(theirs, torch.tensor(b), p=p, eps=eps)
        np.testing.assert_allclose(d.detach().numpy(), t.detach().numpy(), rtol=1e-5)
        d.sum().backward()
        t.sum().backward()
        expected = np.zeros((3, 3)) if theirs.grad is None else theirs.grad.numpy()  # p=0
        np.testing.assert_allclose(ours.grad, expected, rtol=1e-4, atol=1e-6)


def test_pairwise_distance_promotes_broadcasts_and_refuses_as_torch():
    ints = F.pairwise_distance(cr.tensor([[1, 2]]), cr.tensor([[3, 5]]))
    same_as_torch(ints, TF.pairwise_distance(torch.tensor([[1, 2]]), torch.tensor([[3, 5]])))
    mixed = F.pairwise_distance(cr.ones(2, 3), cr.ones(2, 3).double())
    assert (
        mixed.dtype
        == TF.pairwise_distance(torch.ones(2, 3), torch.ones(2, 3).double()).numpy().dtype
    )
    empty = F.pairwise_distance(cr.ones(2, 0), cr.ones(2, 0))
    same_as_torch(empty, TF.pairwise_distance(torch.ones(2, 0), torch.ones(2, 0)))
    scalar = F.pairwise_distance(cr.tensor(1.0), cr.tensor(3.0), keepdim=True)
    assert (
        scalar.shape
        == TF.pairwise_distance(torch.tensor(1.0), torch.tensor(3.0), keepdim=True).shape
    )
    with pytest.raises(RuntimeError):
        TF.pairwise_distance(torch.ones(2, 3), torch.ones(4, 3))
    with pytest.raises(RuntimeError):
        F.pairwise_distance(cr.ones(2, 3), cr.ones(4, 3))
    with pytest.raises(RuntimeError):
        TF.pairwise_distance(torch.ones(2, 0), torch.ones(2, 0), p=-math.inf)
    with pytest.raises(RuntimeError, match="empty"):
        F.pairwise_distance(cr.ones(2, 0), cr.ones(2, 0), p=-math.inf)
    module = cr.nn.PairwiseDistance(p=1.5, eps=0.0, keepdim=True)
    assert (module.norm, module.eps, module.keepdim) == (1.5, 0.0, True)  # PyTorch's names
    assert repr(module) == repr(torch.nn.PairwiseDistance()) == "PairwiseDistance()"


def test_second_derivatives_of_pairwise_distance():
    rng = np.random.default_rng(0)
    a = cr.tensor(rng.standard_normal((3, 4)), dtype="float64", requires_grad=True)
    b = cr.tensor(rng.standard_normal((3, 4)), dtype="float64", requires_grad=True)
    for p in (2, 3, 1.5, 0.5, -1):
        assert gradgradcheck(lambda x, y, p=p: F.pairwise_distance(x, y, p=p), a, b)


# ---- histc ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "values, options",
    [
        ([1.0, 2.0, 1.0, 4.0, 2.5, math.nan], dict(bins=4, min=0, max=3)),  # NaN, outside
        ([1.0, 2.0, 1.0, 4.0, 2.5], dict(bins=4)),  # the data's own range
        ([3.0, 3.0, 3.0], dict(bins=4)),  # one value: widened by 1 each way
        ([], dict(bins=4)),
        ([1.0, 2.0, 3.0], dict(bins=3, min=2, max=2)),  # min == max: the data's range
        ([0.1, 0.2, 0.3, 0.7, 1.0, 0.0], dict(bins=10, min=0, max=1)),  # edges, max included
        ([1.0, math.inf, -math.inf], dict(bins=3, min=0, max=2)),
        ([[1.0, 5.0], [2.0, -1.0]], dict(bins=5, min=-1.5, max=4.5)),  # any shape: flattened
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histc_matches_torch(values, options, dtype):
    theirs = torch.histc(torch.tensor(values, dtype=getattr(torch, dtype)), **options)
    same_as_torch(cr.histc(cr.tensor(values, dtype=dtype), **options), theirs)
    same_as_torch(cr.tensor(values, dtype=dtype).histc(**options), theirs)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_histc_bins_values_at_every_edge_as_torch(dtype):
    """PyTorch picks the bin by one division, not by the edges: values on and beside every
    edge land where PyTorch puts them."""
    rng = np.random.default_rng(1)
    for bins, low, high in [(10, 0.0, 1.0), (7, -1.3, 2.0), (33, 0.1, 10.1), (3, 2.0, 2.7)]:
        edges = torch_linspace(low, high, bins + 1, np.dtype(dtype))
        beside = [np.nextafter(edges, np.inf), np.nextafter(edges, -np.inf)]
        x = np.concatenate([rng.uniform(low, high, 500), edges, *beside]).astype(dtype)
        same_as_torch(
            cr.histc(cr.tensor(x, dtype=dtype), bins, low, high),
            torch.histc(torch.tensor(x), bins, low, high),
        )


def test_histc_has_no_gradient_and_refuses_as_torch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    counts, theirs = (
        cr.histc(x, bins=3),
        torch.histc(torch.tensor([1.0, 2.0], requires_grad=True), 3),
    )
    assert counts.requires_grad is theirs.requires_grad is False
    assert counts.grad_fn is None and theirs.grad_fn is None
    calls = [
        (lambda lib: lib.histc(lib.tensor([1, 2, 3]), bins=4), NotImplementedError),
        (lambda lib: lib.histc(lib.tensor([True]), bins=4), NotImplementedError),
        (lambda lib: lib.histc(lib.tensor([1.0]), bins=0), (RuntimeError, ValueError)),
        (
            lambda lib: lib.histc(lib.tensor([1.0]), bins=3, min=3, max=1),
            (RuntimeError, ValueError),
        ),
        (lambda lib: lib.histc(lib.tensor([1.0, math.nan]), bins=3), (RuntimeError, ValueError)),
        (
            lambda lib: lib.histc(lib.tensor([1.0]), bins=3, max=math.inf),
            (RuntimeError, ValueError),
        ),
        (lambda lib: lib.histc(lib.tensor([1.0]), bins=2.5), TypeError),
    ]
    for call, error in calls:
        for lib in (torch, cr):
            with pytest.raises(error):
                call(lib)
