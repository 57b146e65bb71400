"""Poisson against torch.distributions.Poisson."""

import numpy as np
import pytest
import torch
from dist_check import as_cr, check, gradcheck, moments

import chainrule as cr
from chainrule.distributions import Poisson, kl_divergence
from chainrule.errors import NotSupportedError

RATE = [[0.5, 3.0, 12.0], [1.0, 0.2, 40.0]]
COUNTS = np.array([[0.0, 2.0, 15.0], [1.0, 0.0, 37.0]])


def test_log_prob_and_moments_match_torch():
    counts_cr = cr.tensor(COUNTS, dtype=cr.float64)
    counts_torch = torch.tensor(COUNTS)
    check(
        lambda r: Poisson(r).log_prob(counts_cr) + Poisson(r).mean + Poisson(r).variance,
        lambda r: torch.distributions.Poisson(r).log_prob(counts_torch) + r + r,
        RATE,
    )
    np.testing.assert_array_equal(
        Poisson(as_cr(RATE, False)).mode.numpy(),
        torch.distributions.Poisson(torch.tensor(RATE)).mode.numpy(),
    )
    gradcheck(lambda r: Poisson(r).log_prob(counts_cr), RATE)


def test_zero_rate_as_torch():
    mine = Poisson(cr.tensor([0.0, 0.0])).log_prob(cr.tensor([0.0, 1.0])).numpy()
    theirs = torch.distributions.Poisson(torch.tensor([0.0, 0.0])).log_prob(torch.tensor([0, 1.0]))
    np.testing.assert_array_equal(mine, theirs.numpy())  # 0 and -inf


def test_kl_matches_torch():
    check(
        lambda a, b: kl_divergence(Poisson(a), Poisson(b)),
        lambda a, b: torch.distributions.kl_divergence(
            torch.distributions.Poisson(a), torch.distributions.Poisson(b)
        ),
        RATE,
        [[1.0, 1.0, 10.0], [2.0, 0.5, 41.0]],
    )


def test_sample_statistics_and_validation():
    d = Poisson(cr.tensor([0.5, 4.0, 30.0], dtype=cr.float64))
    samples = d.sample((100_000,))
    assert samples.dtype == cr.float64 and samples.shape == (100_000, 3)
    assert (samples.numpy() % 1 == 0).all()
    mean, var = moments(samples)
    np.testing.assert_allclose(mean, [0.5, 4.0, 30.0], rtol=0.02)
    np.testing.assert_allclose(var, [0.5, 4.0, 30.0], rtol=0.04)
    assert not d.has_rsample
    with pytest.raises(ValueError, match=r"within the support \(IntegerGreaterThan\(lower_bo"):
        d.log_prob(cr.tensor([1.5, 1.0, 1.0]))
    with pytest.raises(ValueError, match=r"constraint GreaterThanEq\(lower_bound=0.0\)"):
        Poisson(cr.tensor([-1.0]))
    with pytest.raises(NotSupportedError, match="differentiable in rate only"):
        d.log_prob(cr.tensor([1.0, 2.0, 3.0], requires_grad=True))
