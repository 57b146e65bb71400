"""Bernoulli against torch.distributions.Bernoulli, from probs and from logits."""

import math

import numpy as np
import pytest
import torch
from dist_check import as_cr, check, gradcheck, moments

import chainrule as cr
from chainrule.distributions import Bernoulli

PROBS = [[0.1, 0.5, 0.93], [1e-4, 0.7, 0.25]]
LOGITS = [[-2.0, 0.0, 3.5], [40.0, -40.0, 0.7]]  # large logits: the log-sigmoid form holds
VALUE = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.0]])


def _methods():
    return [
        lambda d, v: d.log_prob(v),
        lambda d, v: d.entropy() + 0 * v,
        lambda d, v: d.mean + d.variance + d.stddev + 0 * v,
        lambda d, v: d.logits + 0 * v,
        lambda d, v: d.probs + 0 * v,
    ]


@pytest.mark.parametrize("method", _methods())
@pytest.mark.parametrize("name", ["probs", "logits"])
def test_values_and_gradients_match_torch(method, name):
    param = PROBS if name == "probs" else LOGITS
    check(
        lambda p, v: method(Bernoulli(**{name: p}), v),
        lambda p, v: method(torch.distributions.Bernoulli(**{name: p}), v),
        param,
        VALUE,
    )


def test_finite_differences():
    gradcheck(lambda p: Bernoulli(probs=p).log_prob(cr.tensor(VALUE)), PROBS)
    gradcheck(lambda p: Bernoulli(logits=p).entropy(), [[-2.0, 0.3], [1.5, 0.7]])


def test_probs_to_logits_clamps_as_torch():
    probs = [0.0, 1.0, 0.5]
    mine = Bernoulli(probs=as_cr(probs, False)).logits.numpy()
    theirs = torch.distributions.Bernoulli(probs=torch.tensor(probs).double()).logits.numpy()
    np.testing.assert_allclose(mine, theirs, rtol=1e-14)
    assert np.isfinite(mine).all()


def test_exactly_one_parameter():
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        Bernoulli()
    with pytest.raises(ValueError, match="Either `probs` or `logits` must be specified"):
        Bernoulli(probs=cr.tensor([0.5]), logits=cr.tensor([0.0]))


def test_validation():
    with pytest.raises(ValueError, match=r"constraint Interval\(lower_bound=0.0, upper"):
        Bernoulli(probs=cr.tensor([1.5]))
    d = Bernoulli(probs=cr.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"within the support \(Boolean\(\)\)"):
        d.log_prob(cr.tensor([0.5, 1.0]))


def test_mode_and_enumerate_support():
    probs = [0.2, 0.5, 0.9]
    mine = Bernoulli(probs=cr.tensor(probs)).mode.numpy()
    theirs = torch.distributions.Bernoulli(probs=torch.tensor(probs)).mode.numpy()
    np.testing.assert_array_equal(mine, theirs)  # NaN at the tie, as torch
    assert math.isnan(mine[1])
    d = Bernoulli(probs=cr.tensor([[0.2, 0.4, 0.6]]))
    t = torch.distributions.Bernoulli(probs=torch.tensor([[0.2, 0.4, 0.6]]))
    for expand in (True, False):
        got, want = d.enumerate_support(expand), t.enumerate_support(expand)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
        assert got.dtype == cr.float32


def test_sample_statistics_and_dtype():
    d = Bernoulli(probs=cr.tensor([0.1, 0.5, 0.8], dtype=cr.float64))
    samples = d.sample((100_000,))
    assert samples.dtype == cr.float64 and samples.shape == (100_000, 3)
    assert set(np.unique(samples.numpy())) <= {0.0, 1.0}
    mean, _ = moments(samples)
    np.testing.assert_allclose(mean, [0.1, 0.5, 0.8], atol=0.01)
    assert not d.has_rsample
    with pytest.raises(NotImplementedError):
        d.rsample()


def test_scalar_and_expand():
    d = Bernoulli(0.3)
    assert d.batch_shape == () and d.sample().shape == ()
    e = Bernoulli(logits=cr.tensor([0.0, 1.0])).expand((4, 2))
    assert e.batch_shape == (4, 2) and e.logits.shape == (4, 2)
    assert "probs" not in e.__dict__  # built only when asked, as torch's lazy property
    assert e.probs.shape == (4, 2)


@pytest.mark.parametrize("probs", [1.5, -0.1, float("nan")])
def test_sampling_bad_probabilities_raises_as_torch(probs):
    with pytest.raises(RuntimeError, match=r"\[0, 1\]"):
        Bernoulli(probs=cr.tensor([probs]), validate_args=False).sample()
    with pytest.raises(RuntimeError):
        torch.distributions.Bernoulli(probs=torch.tensor([probs]), validate_args=False).sample()
