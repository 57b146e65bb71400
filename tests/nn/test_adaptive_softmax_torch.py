"""nn.AdaptiveLogSoftmaxWithLoss against PyTorch's: the same state dict, output, loss,
gradients, log_prob and predict, and its argument and target checks."""

import numpy as np
import pytest
import torch

import chainrule as cr
from chainrule import nn


def _pair(cutoffs, div_value=4.0, head_bias=False):
    theirs = torch.nn.AdaptiveLogSoftmaxWithLoss(
        8, 10, cutoffs, div_value=div_value, head_bias=head_bias
    ).double()
    ours = nn.AdaptiveLogSoftmaxWithLoss(
        8, 10, cutoffs, div_value=div_value, head_bias=head_bias, dtype="float64"
    )
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    assert repr(ours) == repr(theirs)
    return ours, theirs


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")
@pytest.mark.parametrize(
    "cutoffs, div_value, head_bias, batch",
    [
        ([4, 7], 4.0, False, 9),
        ([2], 2.0, True, 6),
        ([3, 5, 8], 1.5, True, 12),
        ([4, 7], 4.0, False, 1),
    ],
)
def test_output_loss_and_gradients_are_torch_s(cutoffs, div_value, head_bias, batch):
    ours, theirs = _pair(cutoffs, div_value, head_bias)
    rng = np.random.default_rng(batch)
    x = rng.normal(size=(batch, 8))
    target = rng.integers(0, 10, size=batch)
    x_ours = cr.tensor(x, dtype="float64", requires_grad=True)
    x_theirs = torch.tensor(x, requires_grad=True)
    out, loss = ours(x_ours, cr.tensor(target))
    expected_out, expected_loss = theirs(x_theirs, torch.tensor(target))
    np.testing.assert_allclose(out.detach().numpy(), expected_out.detach().numpy(), rtol=1e-14)
    assert loss.item() == pytest.approx(expected_loss.item(), rel=1e-14)
    weights = rng.normal(size=batch)
    ((out * cr.tensor(weights, dtype="float64")).sum() + loss).backward()
    ((expected_out * torch.tensor(weights)).sum() + expected_loss).backward()
    # gradients of size ~1 summed in another order than PyTorch's (by thread count): a few
    # float64 ulps of the largest one apart where a small entry comes out of cancellation
    close = {"rtol": 1e-13, "atol": 1e-15}
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), **close)
    mine = dict(ours.named_parameters())
    for name, param in theirs.named_parameters():
        if param.numel():  # a cluster of 0 hidden features (in_features // div_value**i = 0)
            np.testing.assert_allclose(mine[name].grad.numpy(), param.grad.numpy(), **close)
    with cr.no_grad(), torch.no_grad():
        full = ours.log_prob(cr.tensor(x, dtype="float64")).numpy()
        np.testing.assert_allclose(full, theirs.log_prob(torch.tensor(x)).numpy(), rtol=1e-14)
        best = ours.predict(cr.tensor(x, dtype="float64")).numpy()
        np.testing.assert_array_equal(best, theirs.predict(torch.tensor(x)).numpy())


def test_one_unbatched_row_with_a_0d_target():
    ours, theirs = _pair([4, 7])
    x = np.random.default_rng(0).normal(size=8)
    out, loss = ours(cr.tensor(x, dtype="float64"), cr.tensor(8))
    expected_out, expected_loss = theirs(torch.tensor(x), torch.tensor(8))
    assert out.shape == () and out.item() == pytest.approx(expected_out.item(), rel=1e-14)
    assert loss.item() == pytest.approx(expected_loss.item(), rel=1e-14)


@pytest.mark.parametrize("cutoffs", [[], [0], [10], [5, 3], [3, 3], [2.5]])
def test_bad_cutoffs_raise_value_error_as_torch(cutoffs):
    with pytest.raises(ValueError):
        torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)
    with pytest.raises(ValueError, match="cutoffs"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs)


@pytest.mark.parametrize(
    "x_shape, target, error, match",
    [
        ((3, 8), [1, 10, 2], IndexError, r"Target values should be in \[0, 9\]"),
        ((3, 8), [1, -1, 2], IndexError, r"but values in range \[-1, 2\]"),
        ((3, 8), [1, 2], RuntimeError, "same size in the batch dimension"),
        ((3, 8), [[1, 2, 3]], RuntimeError, "multi-target not supported"),
        ((3, 8), 1, RuntimeError, "0D target tensor expects 1D input"),
        ((3, 8), [1.0, 2.0, 3.0], TypeError, "integer class ids"),
    ],
)
def test_bad_targets_raise_clear_errors(x_shape, target, error, match):
    layer = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4])
    with pytest.raises(error, match=match):
        layer(cr.randn(*x_shape), cr.tensor(np.array(target)))
    with pytest.raises(RuntimeError):  # PyTorch: RuntimeError for every one of these
        torch.nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4])(
            torch.randn(*x_shape), torch.tensor(np.array(target))
        )
