"""ctc_loss with the blank among the target's labels (a label-mapping slip: PyTorch does not
refuse it), against PyTorch: its kernel stores the last step's two end states without adding
them, so where the last label is the blank its gradient counts only one of them. The loss
always matched; the gradient at the last step used to differ."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _loss_and_grad(lib, lp, targets, input_lengths, target_lengths, blank, reduction):
    log_probs = lib.from_numpy(lp.copy()).requires_grad_(True)
    loss = lib.nn.functional.ctc_loss(
        log_probs,
        lib.from_numpy(targets.copy()),
        lib.from_numpy(input_lengths.copy()),
        lib.from_numpy(target_lengths.copy()),
        blank=blank,
        reduction=reduction,
    )
    weights = np.linspace(0.5, 1.5, loss.numel()).reshape(tuple(loss.shape))
    (loss * lib.from_numpy(weights)).sum().backward()
    return loss.detach().numpy(), log_probs.grad.numpy()


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("blank", [0, 3])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_blank_labels_in_targets_match_torch(seed, blank, reduction):
    rng = np.random.default_rng(seed)
    steps, batch, classes, width = 9, 5, 4, 3
    lp = np.log(rng.dirichlet(np.ones(classes), size=(steps, batch)))
    targets = rng.integers(0, classes, (batch, width))
    targets[:2, -1] = blank  # at least two targets end with the blank
    targets[0, :] = blank  # one is blanks only
    input_lengths = np.array([9, 8, 9, 6, 7])
    target_lengths = np.array([3, 3, 2, 3, 1])
    ours = _loss_and_grad(cr, lp, targets, input_lengths, target_lengths, blank, reduction)
    theirs = _loss_and_grad(torch, lp, targets, input_lengths, target_lengths, blank, reduction)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-9, atol=1e-12)
