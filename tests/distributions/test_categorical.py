"""Categorical and OneHotCategorical against torch.distributions."""

import numpy as np
import pytest
import torch
from dist_check import as_cr, check, gradcheck

import chainrule as cr
from chainrule.distributions import Categorical, OneHotCategorical

PROBS = [[0.2, 0.3, 0.5, 0.0], [1.0, 2.0, 3.0, 4.0]]  # unnormalised rows, a zero
LOGITS = [[0.5, -1.0, 2.0, 0.0], [-30.0, 1.0, 1.0, 3.0]]
INDEX = [2, 3]


def _methods():
    return [
        lambda d: d.log_prob(_index(d)),
        lambda d: d.entropy(),
        lambda d: d.logits,
        lambda d: d.probs,
    ]


def _index(d):
    module = torch if isinstance(d, torch.distributions.Distribution) else cr
    return module.tensor(INDEX)


@pytest.mark.parametrize("method", _methods())
@pytest.mark.parametrize("name", ["probs", "logits"])
def test_values_and_gradients_match_torch(method, name):
    param = PROBS if name == "probs" else LOGITS
    check(
        lambda p: method(Categorical(**{name: p})),
        lambda p: method(torch.distributions.Categorical(**{name: p})),
        param,
    )


def test_log_prob_broadcasts_sample_batches():
    values = np.random.default_rng(0).integers(0, 4, (5, 2))
    check(
        lambda p: Categorical(logits=p).log_prob(cr.tensor(values)),
        lambda p: torch.distributions.Categorical(logits=p).log_prob(torch.tensor(values)),
        LOGITS,
    )
    one = Categorical(logits=as_cr(LOGITS[0], False))
    theirs = torch.distributions.Categorical(logits=torch.tensor(LOGITS[0]).double())
    got = one.log_prob(cr.tensor([[0, 1], [2, 3]])).numpy()
    np.testing.assert_allclose(got, theirs.log_prob(torch.tensor([[0, 1], [2, 3]])).numpy())


def test_finite_differences():
    gradcheck(lambda p: Categorical(logits=p).log_prob(cr.tensor(INDEX)), LOGITS)
    gradcheck(lambda p: Categorical(probs=p).entropy(), [[0.2, 0.3, 0.5], [1.0, 2.0, 3.0]])


def test_mean_variance_mode_and_support():
    d = Categorical(probs=cr.tensor(PROBS))
    t = torch.distributions.Categorical(probs=torch.tensor(PROBS))
    assert np.isnan(d.mean.numpy()).all() and d.mean.shape == tuple(t.mean.shape)
    assert np.isnan(d.variance.numpy()).all()
    np.testing.assert_array_equal(d.mode.numpy(), t.mode.numpy())
    assert repr(d.support) == repr(t.support) == "IntegerInterval(lower_bound=0, upper_bound=3)"
    for expand in (True, False):
        got, want = d.enumerate_support(expand), t.enumerate_support(expand)
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    assert d.batch_shape == (2,) and d.event_shape == () and d.param_shape == (2, 4)


def test_validation_and_errors():
    with pytest.raises(ValueError, match="`probs` parameter must be at least one-dimensional"):
        Categorical(probs=cr.tensor(0.5))
    with pytest.raises(ValueError, match="Either `probs` or `logits`"):
        Categorical()
    with pytest.raises(ValueError, match=r"constraint Simplex\(\)"):
        Categorical(probs=cr.tensor([0.5, -0.1, 0.6]))
    with pytest.raises(TypeError, match="cr.tensor"):
        Categorical(probs=[0.5, 0.5])
    d = Categorical(logits=cr.zeros(3))
    with pytest.raises(ValueError, match=r"within the support \(IntegerInterval"):
        d.log_prob(cr.tensor([3]))


def test_sample_frequencies_and_shapes():
    probs = np.array([[0.1, 0.0, 0.6, 0.3], [0.25, 0.25, 0.25, 0.25], [0.0, 0.0, 0.0, 1.0]])
    d = Categorical(probs=cr.tensor(probs))
    samples = d.sample((60_000,))
    assert samples.shape == (60_000, 3) and samples.dtype == cr.int64
    counts = np.stack([np.bincount(samples.numpy()[:, i], minlength=4) for i in range(3)])
    np.testing.assert_allclose(counts / 60_000, probs, atol=0.01)
    assert counts[0, 1] == 0 and (counts[2, :3] == 0).all()  # zero-probability classes
    assert Categorical(logits=cr.zeros(5)).sample().shape == ()
    assert Categorical(logits=cr.zeros(2, 3, 5)).sample((4, 1)).shape == (4, 1, 2, 3)
    cr.manual_seed(7)
    first = d.sample((10,)).numpy()
    cr.manual_seed(7)
    np.testing.assert_array_equal(d.sample((10,)).numpy(), first)


def test_expand():
    d = Categorical(logits=cr.tensor([0.0, 1.0, 2.0])).expand((5,))
    assert d.batch_shape == (5,) and d.logits.shape == (5, 3)
    assert d.sample((2,)).shape == (2, 5)


@pytest.mark.parametrize("name", ["probs", "logits"])
def test_one_hot_categorical(name):
    param = PROBS if name == "probs" else LOGITS
    eye = np.eye(4)[INDEX]

    def method(d, module):
        value = module.tensor(eye, dtype=module.float64)
        return d.log_prob(value) + d.entropy() + (d.mean * d.variance).sum(-1)

    check(
        lambda p: method(OneHotCategorical(**{name: p}), cr),
        lambda p: method(torch.distributions.OneHotCategorical(**{name: p}), torch),
        param,
    )
    d = OneHotCategorical(**{name: cr.tensor(param)})
    t = torch.distributions.OneHotCategorical(**{name: torch.tensor(param)})
    assert d.batch_shape == (2,) and d.event_shape == (4,)
    sample = d.sample((3,))
    assert sample.shape == (3, 2, 4) and (sample.numpy().sum(-1) == 1).all()
    np.testing.assert_array_equal(d.mode.numpy(), t.mode.numpy())
    np.testing.assert_array_equal(d.enumerate_support().numpy(), t.enumerate_support().numpy())
    with pytest.raises(ValueError, match=r"within the support \(OneHot\(\)\)"):
        d.log_prob(cr.tensor([[1.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]))


def test_straight_through_gradient_is_probs_gradient():
    logits = as_cr([0.2, -0.3, 1.0])
    d = cr.distributions.OneHotCategoricalStraightThrough(logits=logits)
    x = d.rsample()
    assert (x.detach().numpy().sum() == 1.0) and d.has_rsample
    (x * cr.tensor([1.0, 2.0, 3.0], dtype=cr.float64)).sum().backward()
    t_logits = torch.tensor([0.2, -0.3, 1.0], dtype=torch.float64, requires_grad=True)
    probs = torch.softmax(t_logits, -1)
    (probs * torch.tensor([1.0, 2.0, 3.0]).double()).sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), t_logits.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("probs", [[float("nan"), 1.0], [-0.1, 1.0], [0.0, 0.0]])
def test_sampling_bad_probabilities_raises_as_torch(probs):
    # validation off, so the sampler itself must refuse (it picked a class silently before)
    with pytest.raises(RuntimeError, match="probability tensor contains either"):
        Categorical(probs=cr.tensor(probs), validate_args=False).sample()
    with pytest.raises(RuntimeError, match="probability tensor contains either"):
        torch.distributions.Categorical(probs=torch.tensor(probs), validate_args=False).sample()
