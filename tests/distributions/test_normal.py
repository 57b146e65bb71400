"""Normal against torch.distributions.Normal: densities, moments, cdf/icdf, entropy,
reparameterised samples, validation and shapes."""

import math

import numpy as np
import pytest
import torch
from dist_check import as_cr, check, gradcheck, moments

import chainrule as cr
from chainrule.distributions import Normal

LOC = [[0.3, -1.2, 2.0], [0.0, 0.5, -0.7]]
SCALE = [[1.5, 0.2, 3.0], [0.7, 1.0, 2.2]]
VALUE = np.array([[0.1, -1.0, 5.0], [-0.4, 0.5, 1.3]])


def test_module_and_torch_path():
    assert cr.distributions.Normal is Normal
    from chainrule.torch_compat import unsupported

    assert unsupported("torch", "distributions") is None


@pytest.mark.parametrize(
    "method",
    [
        lambda d, v: d.log_prob(v),
        lambda d, v: d.cdf(v),
        lambda d, v: d.entropy() + 0 * v,
        lambda d, v: d.mean + d.variance + d.stddev + d.mode + 0 * v,
    ],
)
def test_values_and_gradients_match_torch(method):
    def mine(loc, scale, value):
        return method(Normal(loc, scale), value)

    def theirs(loc, scale, value):
        return method(torch.distributions.Normal(loc, scale), value)

    check(mine, theirs, LOC, SCALE, VALUE)


def test_icdf_matches_torch_and_inverts_cdf():
    probs = [[0.01, 0.3, 0.5], [0.77, 0.999, 1e-6]]
    check(
        lambda loc, scale, p: Normal(loc, scale).icdf(p),
        lambda loc, scale, p: torch.distributions.Normal(loc, scale).icdf(p),
        LOC,
        SCALE,
        probs,
        rtol=1e-11,
    )
    d = Normal(as_cr(LOC, False), as_cr(SCALE, False))
    back = d.cdf(d.icdf(as_cr(probs, False)))
    np.testing.assert_allclose(back.numpy(), probs, rtol=1e-10)


def test_log_prob_broadcasts_a_sample_batch():
    value = np.random.default_rng(0).standard_normal((5, 2, 3))
    check(
        lambda loc, scale, v: Normal(loc, scale).log_prob(v),
        lambda loc, scale, v: torch.distributions.Normal(loc, scale).log_prob(v),
        LOC,
        SCALE,
        value,
    )


def test_finite_differences():
    gradcheck(lambda loc, scale, v: Normal(loc, scale).log_prob(v), LOC, SCALE, VALUE)
    gradcheck(lambda loc, scale: Normal(loc, scale).entropy(), LOC, SCALE)
    gradcheck(lambda loc, scale, v: Normal(loc, scale).cdf(v), LOC, SCALE, VALUE)


def test_numbers_broadcast_as_torch():
    d = Normal(0.0, 1.0)
    assert d.batch_shape == () and d.event_shape == ()
    assert d.loc.dtype == cr.float32  # the default dtype, as torch's
    d = Normal(cr.zeros(3, dtype=cr.float64), 2.0)
    assert d.batch_shape == (3,) and d.scale.dtype == cr.float64
    assert d.scale.shape == (3,)
    d = Normal(cr.zeros(4, 1), cr.ones(3))
    assert d.batch_shape == (4, 3)
    assert d.sample((2,)).shape == (2, 4, 3)
    assert d.sample().shape == (4, 3)
    assert d.sample(5).shape == (5, 4, 3)


def test_non_tensor_arguments_are_refused_as_torch():
    with pytest.raises(ValueError, match="Input arguments must all be instances of Number"):
        Normal([0.0], [1.0])


def test_rsample_is_reparameterised():
    loc, scale = as_cr([0.5, -1.0]), as_cr([2.0, 0.5])
    d = Normal(loc, scale)
    assert d.has_rsample
    x = d.rsample((7,))
    assert x.requires_grad and x.shape == (7, 2)
    x.sum().backward()
    eps = (x.detach().numpy() - [0.5, -1.0]) / [2.0, 0.5]
    np.testing.assert_allclose(loc.grad.numpy(), [7.0, 7.0])
    np.testing.assert_allclose(scale.grad.numpy(), eps.sum(0), rtol=1e-12)
    sample = d.sample((3,))
    assert not sample.requires_grad


def test_sample_statistics():
    d = Normal(cr.tensor([1.0, -3.0], dtype=cr.float64), cr.tensor([0.5, 2.0], dtype=cr.float64))
    mean, var = moments(d.sample((200_000,)))
    np.testing.assert_allclose(mean, [1.0, -3.0], atol=0.02)
    np.testing.assert_allclose(var, [0.25, 4.0], rtol=0.02)


def test_manual_seed_repeats_samples():
    d = Normal(cr.zeros(3), cr.ones(3))
    cr.manual_seed(123)
    first = d.sample((4,)).numpy()
    cr.manual_seed(123)
    np.testing.assert_array_equal(d.rsample((4,)).detach().numpy(), first)


def test_negative_scale_raises_torch_message():
    with pytest.raises(ValueError) as mine:
        Normal(cr.tensor([0.0]), cr.tensor([-1.0]))
    with pytest.raises(ValueError) as theirs:
        torch.distributions.Normal(torch.tensor([0.0]), torch.tensor([-1.0]))
    prefix = "Expected parameter scale (Tensor of shape (1,)) of distribution Normal("
    assert str(mine.value).startswith(prefix) and str(theirs.value).startswith(prefix)
    tail = "to satisfy the constraint GreaterThan(lower_bound=0.0), but found invalid values"
    assert tail in str(mine.value) and tail in str(theirs.value)
    Normal(cr.tensor([0.0]), cr.tensor([-1.0]), validate_args=False)  # no check


def test_nan_loc_and_bad_values_raise():
    with pytest.raises(ValueError, match="constraint Real()"):
        Normal(cr.tensor([math.nan]), cr.tensor([1.0]))
    d = Normal(cr.zeros(3), cr.ones(3))
    with pytest.raises(ValueError, match="The value argument to log_prob must be a Tensor"):
        d.log_prob(0.5)
    with pytest.raises(ValueError, match="Value is not broadcastable"):
        d.log_prob(cr.zeros(4))
    with pytest.raises(ValueError, match=r"to be within the support \(Real\(\)\)"):
        d.log_prob(cr.tensor([0.0, math.nan, 1.0]))


def test_set_default_validate_args():
    cr.distributions.Distribution.set_default_validate_args(False)
    try:
        d = Normal(cr.tensor([0.0]), cr.tensor([-1.0]))
        assert d.scale.item() == -1.0
    finally:
        cr.distributions.Distribution.set_default_validate_args(True)
    with pytest.raises(ValueError):
        Normal(cr.tensor([0.0]), cr.tensor([-1.0]))


def test_expand_and_repr():
    d = Normal(cr.tensor([0.0, 1.0]), cr.tensor([1.0, 2.0]))
    e = d.expand((3, 2))
    assert type(e) is Normal and e.batch_shape == (3, 2) and e.loc.shape == (3, 2)
    assert e.sample((4,)).shape == (4, 3, 2)
    assert repr(Normal(0.0, 1.0)) == repr(torch.distributions.Normal(0.0, 1.0))
    assert repr(d) == "Normal(loc: (2,), scale: (2,))"
    assert Normal.arg_constraints["scale"] is cr.distributions.constraints.positive
    assert repr(Normal.support) == "Real()"


def test_perplexity():
    d = Normal(cr.tensor([0.0], dtype=cr.float64), cr.tensor([2.0], dtype=cr.float64))
    t = torch.distributions.Normal(torch.tensor([0.0]).double(), torch.tensor([2.0]).double())
    np.testing.assert_allclose(d.perplexity().numpy(), t.perplexity().numpy(), rtol=1e-14)


def test_sample_n_is_deprecated_as_torch():
    d = Normal(cr.zeros(2), cr.ones(2))
    with pytest.warns(FutureWarning, match="Use `sample\\(\\(n,\\)\\)` instead"):
        assert d.sample_n(3).shape == (3, 2)
