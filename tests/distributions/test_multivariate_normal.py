"""MultivariateNormal and Independent against torch.distributions."""

import numpy as np
import pytest
import torch
from dist_check import as_cr, check, gradcheck, moments

import chainrule as cr
from chainrule.distributions import Independent, MultivariateNormal, Normal

LOC = [[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]]
TRIL = [[1.5, 0.0, 0.0], [0.3, 0.8, 0.0], [-0.4, 0.2, 2.0]]
COV = (np.array(TRIL) @ np.array(TRIL).T).tolist()
VALUE = np.random.default_rng(0).standard_normal((4, 2, 3))


@pytest.mark.parametrize("name", ["scale_tril", "covariance_matrix", "precision_matrix"])
def test_values_and_gradients_match_torch(name):
    matrix = COV if name != "scale_tril" else TRIL

    def method(d, value):
        extra = (d.variance + d.mean).sum(-1) + d.scale_tril.sum((-2, -1))
        extra = extra + d.covariance_matrix.sum((-2, -1)) + d.precision_matrix.sum((-2, -1))
        return d.log_prob(value) + d.entropy() + extra

    check(
        lambda loc, m, v: method(MultivariateNormal(loc, **{name: m}), v),
        lambda loc, m, v: method(torch.distributions.MultivariateNormal(loc, **{name: m}), v),
        LOC,
        matrix,
        VALUE,
        rtol=1e-10,
        atol=1e-10,
    )


def test_finite_differences():
    gradcheck(
        # the differences step off the triangle: no validation
        lambda loc, tril, v: MultivariateNormal(loc, scale_tril=tril, validate_args=False).log_prob(
            v
        ),
        LOC,
        TRIL,
        VALUE[0],
    )


def test_rsample_statistics_and_gradient():
    loc = as_cr([1.0, -2.0, 0.5])
    tril = as_cr(TRIL)
    d = MultivariateNormal(loc, scale_tril=tril)
    x = d.rsample((100_000,))
    assert x.shape == (100_000, 3) and d.batch_shape == () and d.event_shape == (3,)
    samples = x.detach().numpy()
    mean, _ = moments(x)
    np.testing.assert_allclose(mean, [1.0, -2.0, 0.5], atol=0.03)
    np.testing.assert_allclose(np.cov(samples.T), COV, atol=0.06)
    x.sum().backward()
    np.testing.assert_allclose(loc.grad.numpy(), [100_000.0] * 3)
    assert tril.grad is not None and np.isfinite(tril.grad.numpy()).all()


def test_validation_and_errors():
    with pytest.raises(ValueError, match="Exactly one of covariance_matrix or precision_matrix"):
        MultivariateNormal(cr.zeros(2))
    with pytest.raises(ValueError, match="loc must be at least one-dimensional"):
        MultivariateNormal(cr.tensor(0.0), cr.eye(2))
    with pytest.raises(ValueError, match=r"constraint PositiveDefinite\(\)"):
        MultivariateNormal(cr.zeros(2), cr.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match=r"constraint LowerCholesky\(\)"):
        MultivariateNormal(cr.zeros(2), scale_tril=cr.tensor([[1.0, 1.0], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="The right-most size of value must match event_shape"):
        MultivariateNormal(cr.zeros(2), cr.eye(2)).log_prob(cr.zeros(3))


def test_batch_broadcast_and_expand():
    d = MultivariateNormal(cr.zeros(4, 1, 2), cr.eye(2).expand(3, 2, 2))
    assert d.batch_shape == (4, 3) and d.sample((5,)).shape == (5, 4, 3, 2)
    e = MultivariateNormal(cr.zeros(2), cr.eye(2)).expand((6,))
    assert e.batch_shape == (6,) and e.loc.shape == (6, 2) and e.entropy().shape == (6,)


def test_independent_normal_matches_torch():
    loc, scale = np.array(LOC), np.array(LOC) ** 2 + 0.5

    def method(d, v):
        return d.log_prob(v) + d.entropy() + d.mean.sum(-1) + d.variance.sum(-1)

    check(
        lambda m, s, v: method(Independent(Normal(m, s), 1), v),
        lambda m, s, v: method(
            torch.distributions.Independent(torch.distributions.Normal(m, s), 1), v
        ),
        loc,
        scale,
        VALUE,
    )
    d = Independent(Normal(cr.zeros(4, 3), cr.ones(4, 3)), 2)
    assert d.batch_shape == () and d.event_shape == (4, 3) and d.has_rsample
    assert repr(d.support) == "IndependentConstraint(Real(), 2)"
    assert d.expand((5,)).batch_shape == (5,)
    with pytest.raises(ValueError, match="Expected reinterpreted_batch_ndims <="):
        Independent(Normal(cr.zeros(3), cr.ones(3)), 2)
