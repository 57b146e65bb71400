"""Uniform against torch.distributions.Uniform."""

import math

import numpy as np
import pytest
import torch
from dist_check import as_cr, check, gradcheck, moments

import chainrule as cr
from chainrule.distributions import Uniform

LOW = [[0.0, -2.0], [1.0, 0.5]]
HIGH = [[1.0, 3.0], [4.0, 0.75]]
VALUE = [[0.5, -2.0], [3.0, 0.6]]  # the lower bound itself is inside


@pytest.mark.parametrize(
    "method",
    [
        lambda d, v: d.log_prob(v),
        lambda d, v: d.cdf(v),
        lambda d, v: d.icdf(v / 10 + 0.3),
        lambda d, v: d.entropy() + 0 * v,
        lambda d, v: d.mean + d.variance + d.stddev + 0 * v,
    ],
)
def test_values_and_gradients_match_torch(method):
    check(
        lambda low, high, v: method(Uniform(low, high), v),
        lambda low, high, v: method(torch.distributions.Uniform(low, high), v),
        LOW,
        HIGH,
        VALUE,
    )


def test_log_prob_outside_without_validation_is_minus_inf():
    d = Uniform(as_cr([0.0], False), as_cr([1.0], False), validate_args=False)
    t = torch.distributions.Uniform(torch.tensor([0.0]), torch.tensor([1.0]), validate_args=False)
    value = [-0.5, 0.0, 1.0, 2.0]
    got = d.log_prob(as_cr(value, False)).numpy()
    np.testing.assert_array_equal(got, t.log_prob(torch.tensor(value)).numpy())
    assert got[0] == -math.inf and got[2] == -math.inf


def test_finite_differences():
    inside = [[0.5, -1.0], [3.0, 0.6]]  # away from the bounds the differences step over
    gradcheck(lambda low, high, v: Uniform(low, high).log_prob(v), LOW, HIGH, inside)
    gradcheck(lambda low, high, v: Uniform(low, high).cdf(v), LOW, HIGH, inside)

    def rsample(low, high):
        cr.manual_seed(0)  # the same draws at every evaluation
        return Uniform(low, high).rsample((3,))

    gradcheck(rsample, LOW, HIGH)


def test_validation_messages():
    with pytest.raises(ValueError, match=r"Expected parameter low .*LessThan\(upper_bound="):
        Uniform(cr.tensor([2.0]), cr.tensor([1.0]))
    d = Uniform(cr.tensor([0.0]), cr.tensor([1.0]))
    with pytest.raises(ValueError, match=r"within the support \(Interval\(lower_bound="):
        d.log_prob(cr.tensor([1.5]))
    assert math.isnan(Uniform(0.0, 1.0).mode.item())


def test_rsample_statistics_and_gradients():
    low, high = as_cr([-1.0, 2.0]), as_cr([1.0, 10.0])
    d = Uniform(low, high)
    x = d.rsample((100_000,))
    values = x.detach().numpy()
    assert ((values >= [-1.0, 2.0]) & (values < [1.0, 10.0])).all()
    mean, var = moments(x)
    np.testing.assert_allclose(mean, [0.0, 6.0], atol=0.03)
    np.testing.assert_allclose(var, [4 / 12, 64 / 12], rtol=0.02)
    x.sum().backward()
    u = (values - [-1.0, 2.0]) / [2.0, 8.0]
    np.testing.assert_allclose(high.grad.numpy(), u.sum(0), rtol=1e-10)
    np.testing.assert_allclose(low.grad.numpy(), (1 - u).sum(0), rtol=1e-10)


def test_shapes_and_expand():
    d = Uniform(0.0, cr.ones(3))
    assert d.batch_shape == (3,) and d.sample((2,)).shape == (2, 3)
    e = d.expand((4, 3))
    assert e.low.shape == (4, 3) and e.sample().shape == (4, 3)


def test_support_repr_prints_scalar_bounds_as_numbers_as_torch():
    mine = Uniform(0.0, 2.0).support
    theirs = torch.distributions.Uniform(0.0, 2.0).support
    assert repr(mine) == repr(theirs) == "Interval(lower_bound=0.0, upper_bound=2.0)"
    with pytest.raises(ValueError, match=r"Expected parameter low .*LessThan\(upper_bound=1.0\)"):
        Uniform(2.0, 1.0)
