"""Exponential and Laplace against torch.distributions."""

import numpy as np
import pytest
import torch
from dist_check import as_cr, check, gradcheck, moments

import chainrule as cr
from chainrule.distributions import Exponential, Laplace, kl_divergence

RATE = [[0.5, 2.0], [1.0, 7.5]]
VALUE = [[0.3, 0.0], [2.5, 0.1]]
LOC = [[0.0, -1.0], [2.0, 0.5]]
SCALE = [[1.0, 0.3], [2.5, 0.8]]
PROBS = [[0.1, 0.5], [0.73, 0.99]]


@pytest.mark.parametrize(
    "method",
    [
        lambda d, v, p: d.log_prob(v),
        lambda d, v, p: d.cdf(v),
        lambda d, v, p: d.icdf(p),
        lambda d, v, p: d.entropy() + 0 * v,
        lambda d, v, p: d.mean + d.variance + d.stddev + d.mode + 0 * v,
    ],
)
def test_values_and_gradients_match_torch(method):
    check(
        lambda r, v, p: method(Exponential(r), v, p),
        lambda r, v, p: method(torch.distributions.Exponential(r), v, p),
        RATE,
        VALUE,
        PROBS,
    )
    check(
        lambda m, s, v, p: method(Laplace(m, s), v, p),
        lambda m, s, v, p: method(torch.distributions.Laplace(m, s), v, p),
        LOC,
        SCALE,
        VALUE,
        PROBS,
    )


def test_kl_matches_torch():
    check(
        lambda a, b: kl_divergence(Exponential(a), Exponential(b)),
        lambda a, b: torch.distributions.kl_divergence(
            torch.distributions.Exponential(a), torch.distributions.Exponential(b)
        ),
        RATE,
        SCALE,
    )
    check(
        lambda a, b, c, d: kl_divergence(Laplace(a, b), Laplace(c, d)),
        lambda a, b, c, d: torch.distributions.kl_divergence(
            torch.distributions.Laplace(a, b), torch.distributions.Laplace(c, d)
        ),
        LOC,
        SCALE,
        VALUE,
        RATE,
    )


def test_finite_differences_of_rsample():
    def exponential(rate):
        cr.manual_seed(0)
        return Exponential(rate).rsample((3,))

    def laplace(loc, scale):
        cr.manual_seed(0)
        return Laplace(loc, scale).rsample((3,))

    gradcheck(exponential, RATE)
    gradcheck(laplace, LOC, SCALE)


def test_sample_statistics_and_validation():
    e = Exponential(cr.tensor([0.5, 4.0], dtype=cr.float64))
    samples = e.sample((200_000,))
    assert (samples.numpy() >= 0).all() and samples.dtype == cr.float64
    mean, var = moments(samples)
    np.testing.assert_allclose(mean, [2.0, 0.25], rtol=0.02)
    np.testing.assert_allclose(var, [4.0, 1 / 16], rtol=0.04)
    la = Laplace(as_cr([1.0, -2.0], False), as_cr([0.5, 2.0], False))
    mean, var = moments(la.sample((200_000,)))
    np.testing.assert_allclose(mean, [1.0, -2.0], atol=0.03)
    np.testing.assert_allclose(var, [0.5, 8.0], rtol=0.03)
    with pytest.raises(ValueError, match=r"constraint GreaterThan\(lower_bound=0.0\)"):
        Exponential(cr.tensor([-1.0]))
    with pytest.raises(ValueError, match=r"within the support \(GreaterThanEq\(lower_bound=0.0"):
        Exponential(cr.tensor([1.0])).log_prob(cr.tensor([-0.5]))
    assert Exponential(2.0).expand((3,)).sample().shape == (3,)
    assert Laplace(0.0, 1.0).expand((2, 2)).rsample((4,)).shape == (4, 2, 2)
