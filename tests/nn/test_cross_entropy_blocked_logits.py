"""Cross-entropy and nll_loss with class indices over (N, C, d...) logits (a sequence
model's (N, V, T)) or with weights, where a class that is not the target has a −∞ logit (a
vocabulary entry masked out with ``masked_fill(mask, float("-inf"))``): PyTorch's loss is
finite, as it picks the target's log-probability; chainrule's dense paths had multiplied
0·(−∞) into NaN."""

import numpy as np
import pytest
import torch

import chainrule as cr

F = cr.nn.functional


def _logits():
    z = np.random.default_rng(0).normal(size=(2, 4, 3))
    z[0, 1, :] = -np.inf  # class 1 blocked in every step of sample 0 (never its target)
    z[1, 2, 0] = -np.inf
    return z


TARGET = np.array([[0, 3, 3], [0, 0, 1]])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_a_blocked_class_that_is_no_target_keeps_the_loss_finite_as_torch(
    reduction, weighted, smoothing
):
    z = _logits()
    weight = np.array([1.0, 2.0, 0.5, 3.0])
    ours = cr.tensor(z, dtype="float64", requires_grad=True)
    theirs = torch.tensor(z, requires_grad=True)
    loss = F.cross_entropy(
        ours, cr.tensor(TARGET), reduction=reduction, label_smoothing=smoothing,
        weight=cr.tensor(weight, dtype="float64") if weighted else None,
    )  # fmt: skip
    expected = torch.nn.functional.cross_entropy(
        theirs, torch.tensor(TARGET), reduction=reduction, label_smoothing=smoothing,
        weight=torch.tensor(weight) if weighted else None,
    )  # fmt: skip
    np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), rtol=1e-13)
    if smoothing == 0:  # with smoothing the loss is +inf in both: no gradient to compare
        assert np.isfinite(loss.detach().numpy()).all()
        loss.sum().backward()
        expected.sum().backward()
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-13)


@pytest.mark.filterwarnings("ignore:invalid value encountered")
def test_probability_targets_keep_torch_s_nan_at_a_blocked_class():
    z = np.array([[-np.inf, 0.0, 1.0]])
    probabilities = np.array([[0.0, 0.5, 0.5]])
    expected = torch.nn.functional.cross_entropy(torch.tensor(z), torch.tensor(probabilities))
    loss = F.cross_entropy(
        cr.tensor(z, dtype="float64"), cr.tensor(probabilities, dtype="float64")
    )
    assert np.isnan(expected.item()) and np.isnan(loss.item())


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore_index", [-100, 3])
@pytest.mark.parametrize("sequence", [False, True])
def test_nll_loss_of_log_softmax_with_a_blocked_class_as_torch(
    reduction, weighted, ignore_index, sequence
):
    z = _logits() if sequence else _logits()[:, :, 0]
    target = TARGET if sequence else TARGET[:, 0]
    weight = np.array([1.0, 2.0, 0.5, 3.0])
    ours = cr.tensor(z, dtype="float64", requires_grad=True)
    theirs = torch.tensor(z, requires_grad=True)
    loss = F.nll_loss(
        F.log_softmax(ours, 1), cr.tensor(target), reduction=reduction,
        ignore_index=ignore_index, weight=cr.tensor(weight, dtype="float64") if weighted else None,
    )  # fmt: skip
    expected = torch.nn.functional.nll_loss(
        torch.log_softmax(theirs, 1), torch.tensor(target), reduction=reduction,
        ignore_index=ignore_index, weight=torch.tensor(weight) if weighted else None,
    )  # fmt: skip
    np.testing.assert_allclose(loss.detach().numpy(), expected.detach().numpy(), rtol=1e-13)
    loss.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-13, atol=1e-16)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("weighted", [False, True])
def test_an_ignored_target_loses_plus_zero_as_torch(loss, weighted):
    z = np.random.default_rng(1).normal(size=(2, 4, 3))
    target = np.array([[0, -100, 3], [0, 1, 2]])
    weight = np.array([1.0, 2.0, 0.5, 3.0])
    ours = getattr(F, loss)(
        cr.tensor(z, dtype="float64"), cr.tensor(target), reduction="none",
        weight=cr.tensor(weight, dtype="float64") if weighted else None,
    )  # fmt: skip
    assert ours.numpy()[0, 1] == 0 and not np.signbit(ours.numpy()[0, 1])  # it was −0
