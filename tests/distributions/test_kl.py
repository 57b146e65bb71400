"""kl_divergence and register_kl against torch.distributions.kl."""

import math

import numpy as np
import pytest
import torch
from dist_check import as_cr, check, gradcheck

import chainrule as cr
from chainrule import distributions as D

TD = torch.distributions


def test_normal_normal():
    check(
        lambda a, b, c, d: D.kl_divergence(D.Normal(a, b), D.Normal(c, d)),
        lambda a, b, c, d: TD.kl_divergence(TD.Normal(a, b), TD.Normal(c, d)),
        [0.0, 1.5, -2.0],
        [1.0, 0.3, 2.0],
        [0.5, 1.5, 1.0],
        [2.0, 0.3, 0.1],
    )
    gradcheck(
        lambda a, b, c, d: D.kl_divergence(D.Normal(a, b), D.Normal(c, d)),
        [0.0, 1.5],
        [1.0, 0.3],
        [0.5, 1.5],
        [2.0, 0.4],
    )


@pytest.mark.parametrize("name", ["probs", "logits"])
def test_bernoulli_bernoulli(name):
    p = [0.2, 0.5, 0.9] if name == "probs" else [-1.0, 0.0, 2.5]
    q = [0.6, 0.1, 0.5] if name == "probs" else [0.5, -3.0, 0.1]
    check(
        lambda a, b: D.kl_divergence(D.Bernoulli(**{name: a}), D.Bernoulli(**{name: b})),
        lambda a, b: TD.kl_divergence(TD.Bernoulli(**{name: a}), TD.Bernoulli(**{name: b})),
        p,
        q,
    )


def test_bernoulli_edges_are_inf_and_zero_as_torch():
    p, q = [0.0, 1.0, 0.5, 0.3], [0.5, 0.5, 0.0, 1.0]
    mine = D.kl_divergence(D.Bernoulli(as_cr(p, False)), D.Bernoulli(as_cr(q, False)))
    theirs = TD.kl_divergence(TD.Bernoulli(torch.tensor(p)), TD.Bernoulli(torch.tensor(q)))
    np.testing.assert_allclose(mine.numpy(), theirs.double().numpy(), rtol=1e-6)
    assert mine.numpy()[2] == math.inf and mine.numpy()[3] == math.inf


@pytest.mark.parametrize("name", ["probs", "logits"])
def test_categorical_categorical(name):
    p = [[0.2, 0.3, 0.5], [0.1, 0.1, 0.8]] if name == "probs" else [[0.0, 1.0, -1.0]] * 2
    q = [[0.5, 0.25, 0.25], [0.3, 0.3, 0.4]] if name == "probs" else [[2.0, 0.5, 0.0]] * 2
    check(
        lambda a, b: D.kl_divergence(D.Categorical(**{name: a}), D.Categorical(**{name: b})),
        lambda a, b: TD.kl_divergence(TD.Categorical(**{name: a}), TD.Categorical(**{name: b})),
        p,
        q,
    )
    check(
        lambda a, b: D.kl_divergence(
            D.OneHotCategorical(**{name: a}), D.OneHotCategorical(**{name: b})
        ),
        lambda a, b: TD.kl_divergence(
            TD.OneHotCategorical(**{name: a}), TD.OneHotCategorical(**{name: b})
        ),
        p,
        q,
    )


def test_categorical_zero_probabilities():
    p, q = [[0.0, 0.5, 0.5], [0.5, 0.5, 0.0]], [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]]
    mine = D.kl_divergence(D.Categorical(as_cr(p, False)), D.Categorical(as_cr(q, False)))
    theirs = TD.kl_divergence(
        TD.Categorical(torch.tensor(p, dtype=torch.float64)),
        TD.Categorical(torch.tensor(q, dtype=torch.float64)),
    )
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-12)
    assert mine.numpy()[0] == math.inf


def test_uniform_and_independent_and_mvn():
    check(
        lambda a, b, c, d: D.kl_divergence(D.Uniform(a, b), D.Uniform(c, d)),
        lambda a, b, c, d: TD.kl_divergence(TD.Uniform(a, b), TD.Uniform(c, d)),
        [0.0, 0.0],
        [1.0, 2.0],
        [-1.0, 0.5],
        [2.0, 3.0],
    )
    check(
        lambda a, b, c, d: D.kl_divergence(
            D.Independent(D.Normal(a, b), 1), D.Independent(D.Normal(c, d), 1)
        ),
        lambda a, b, c, d: TD.kl_divergence(
            TD.Independent(TD.Normal(a, b), 1), TD.Independent(TD.Normal(c, d), 1)
        ),
        [[0.0, 1.0], [2.0, 3.0]],
        [[1.0, 2.0], [0.5, 0.5]],
        [[0.3, 0.0], [2.0, -1.0]],
        [[1.5, 1.0], [0.7, 2.0]],
    )
    tril_p = [[1.0, 0.0], [0.5, 2.0]]
    tril_q = [[[1.5, 0.0], [-0.3, 0.7]], [[2.0, 0.0], [0.1, 1.0]]]
    check(
        lambda a, b, c, d: D.kl_divergence(
            D.MultivariateNormal(a, scale_tril=b), D.MultivariateNormal(c, scale_tril=d)
        ),
        lambda a, b, c, d: TD.kl_divergence(
            TD.MultivariateNormal(a, scale_tril=b), TD.MultivariateNormal(c, scale_tril=d)
        ),
        [0.5, -1.0],
        tril_p,
        [[0.0, 0.0], [1.0, 2.0]],
        tril_q,
        rtol=1e-10,
        atol=1e-10,
    )


def test_vae_style_kl_matches_closed_form():
    mu, log_var = as_cr([[0.3, -0.5]]), as_cr([[0.1, -0.4]])
    q = D.Normal(mu, (0.5 * log_var).exp())
    kl = D.kl_divergence(q, D.Normal(cr.zeros_like(mu), cr.ones_like(mu))).sum()
    closed = -0.5 * (1 + log_var - mu.pow(2) - log_var.exp()).sum()
    np.testing.assert_allclose(kl.item(), closed.item(), rtol=1e-13)


def test_unregistered_pair_and_dispatch():
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p"):
        D.kl_divergence(D.Normal(0.0, 1.0), D.Bernoulli(0.5))

    class Wide(D.Normal):
        pass

    assert D.kl_divergence(Wide(0.0, 1.0), D.Normal(0.0, 1.0)).item() == 0.0  # Normal's
    calls = []

    @D.register_kl(Wide, Wide)
    def _kl_wide(p, q):
        calls.append(1)
        return cr.tensor(42.0)

    assert D.kl_divergence(Wide(0.0, 1.0), Wide(0.0, 1.0)).item() == 42.0 and calls
    with pytest.raises(TypeError, match="Distribution subclass"):
        D.register_kl(int, D.Normal)
