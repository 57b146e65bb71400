"""The constraints module against torch's, and cr.erfinv (Normal.icdf's building block)."""

import math

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule.distributions import constraints as C

TC = torch.distributions.constraints


@pytest.mark.parametrize(
    "name, value",
    [
        ("real", [0.0, math.nan, math.inf]),
        ("positive", [0.0, 1.0, -1.0]),
        ("nonnegative", [0.0, 1.0, -1.0]),
        ("unit_interval", [0.0, 1.0, 1.5]),
        ("boolean", [0.0, 1.0, 0.5]),
        ("simplex", [[0.2, 0.8], [0.5, 0.6]]),
        ("real_vector", [[0.2, math.nan], [0.5, 0.6]]),
        ("one_hot", [[0.0, 1.0], [1.0, 1.0]]),
        ("nonnegative_integer", [0.0, 2.0, -1.0, 1.5]),
        ("lower_cholesky", [[[1.0, 0.0], [2.0, 1.0]], [[1.0, 1.0], [0.0, 1.0]]]),
        ("positive_definite", [[[2.0, 1.0], [1.0, 2.0]], [[1.0, 2.0], [2.0, 1.0]]]),
    ],
)
def test_check_and_repr_match_torch(name, value):
    mine, theirs = getattr(C, name), getattr(TC, name)
    got = mine.check(cr.tensor(value, dtype=cr.float64)).numpy()
    want = theirs.check(torch.tensor(value, dtype=torch.float64)).numpy()
    np.testing.assert_array_equal(got, want)
    assert repr(mine) == repr(theirs)
    assert mine.event_dim == theirs.event_dim and mine.is_discrete == theirs.is_discrete


def test_parameterised_constraints():
    for mine, theirs in [
        (C.interval(0.0, 2.0), TC.interval(0.0, 2.0)),
        (C.half_open_interval(0.0, 2.0), TC.half_open_interval(0.0, 2.0)),
        (C.integer_interval(0, 3), TC.integer_interval(0, 3)),
        (C.greater_than(1.0), TC.greater_than(1.0)),
        (C.greater_than_eq(1.0), TC.greater_than_eq(1.0)),
        (C.less_than(1.0), TC.less_than(1.0)),
    ]:
        value = [-1.0, 0.0, 1.0, 2.0, 2.5]
        got = mine.check(cr.tensor(value)).numpy()
        np.testing.assert_array_equal(got, theirs.check(torch.tensor(value)).numpy())
        assert repr(mine) == repr(theirs)
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
        C.dependent.check(cr.zeros(1))


def test_erfinv_values_and_gradient_match_torch():
    x = np.array([-0.999999, -0.7, -1e-200, 0.0, 1e-8, 0.3, 0.95, 1 - 1e-12])
    mine = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    out, expected = cr.erfinv(mine), torch.erfinv(theirs)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)
    edges = cr.erfinv(cr.tensor([-1.0, 1.0, 1.5, math.nan])).numpy()
    np.testing.assert_array_equal(edges, torch.erfinv(torch.tensor([-1.0, 1.0, 1.5, math.nan])))
    assert cr.erfinv(cr.tensor([0.5])).dtype == cr.float32
    assert cr.erfinv(cr.tensor([0, 1])).dtype == cr.float32  # integers: the default float
    x = cr.tensor([-0.6, 0.1, 0.8], dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(cr.erfinv, x)


def test_erfinv_second_derivative_matches_torch():
    x = [-0.8, 0.1, 0.6]
    mine = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    theirs = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (grad,) = cr.autograd.grad(cr.erfinv(mine).sum(), mine, create_graph=True)
    (expected,) = torch.autograd.grad(torch.erfinv(theirs).sum(), theirs, create_graph=True)
    grad.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(mine.grad.numpy(), theirs.grad.numpy(), rtol=1e-11)


def test_erfinv_tensor_method():
    t = cr.tensor([-0.5, 0.25], dtype=cr.float64)
    np.testing.assert_allclose(t.erfinv().numpy(), torch.tensor([-0.5, 0.25]).double().erfinv())
