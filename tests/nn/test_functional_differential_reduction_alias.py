"""PyTorch 0.4's reduction="elementwise_mean": the losses whose PyTorch forms take it (with a
deprecation warning) take it as "mean"; the four that refuse it refuse it here too. It raised
ValueError everywhere."""

import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

RNG = np.random.default_rng(0)
X, P = RNG.standard_normal((3, 4)), RNG.uniform(0.1, 0.9, (3, 4))
LOG_PROBS = TF.log_softmax(torch.tensor(RNG.standard_normal((5, 2, 4))), -1).numpy()
CTC = [LOG_PROBS, np.array([[1, 2], [3, 1]]), np.array([5, 5]), np.array([2, 2])]
TAKES = {
    "cross_entropy": ("CrossEntropyLoss", [X, np.array([0, 1, 2])]),
    "nll_loss": ("NLLLoss", [X, np.array([0, 1, 2])]),
    "mse_loss": ("MSELoss", [X, X / 2]),
    "l1_loss": ("L1Loss", [X, X / 2]),
    "smooth_l1_loss": ("SmoothL1Loss", [X, X / 2]),
    "huber_loss": ("HuberLoss", [X, X / 2]),
    "kl_div": ("KLDivLoss", [X, P]),
    "binary_cross_entropy": ("BCELoss", [P, P]),
    "binary_cross_entropy_with_logits": ("BCEWithLogitsLoss", [X, P]),
    "soft_margin_loss": ("SoftMarginLoss", [X, np.sign(X)]),
    "hinge_embedding_loss": ("HingeEmbeddingLoss", [X, np.sign(X)]),
    "margin_ranking_loss": ("MarginRankingLoss", [X[0], X[1], np.ones(4)]),
    "cosine_embedding_loss": ("CosineEmbeddingLoss", [X, X / 2, np.ones(3)]),
    "triplet_margin_loss": ("TripletMarginLoss", [X, X / 2, X]),
    "multi_margin_loss": ("MultiMarginLoss", [X, np.array([0, 1, 2])]),
    "multilabel_margin_loss": ("MultiLabelMarginLoss", [X, np.zeros((3, 4), np.int64)]),
    "ctc_loss": ("CTCLoss", CTC),
}
REFUSE = {
    "poisson_nll_loss": ("PoissonNLLLoss", [X, P]),
    "gaussian_nll_loss": ("GaussianNLLLoss", [X, X, P]),
    "multilabel_soft_margin_loss": ("MultiLabelSoftMarginLoss", [X, P]),
    "triplet_margin_with_distance_loss": ("TripletMarginWithDistanceLoss", [X, X / 2, X]),
}


def ours(args):
    return [cr.tensor(a, dtype=a.dtype) for a in args]


def theirs(args):
    return [torch.tensor(a) for a in args]


@pytest.mark.parametrize("name", sorted(TAKES))
def test_elementwise_mean_is_mean_with_torchs_warning(name):
    module, args = TAKES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # kl_div's own note about "mean"
        expected = getattr(TF, name)(*theirs(args), reduction="elementwise_mean").item()
    with pytest.warns(UserWarning, match="'elementwise_mean' is deprecated"):
        got = getattr(F, name)(*ours(args), reduction="elementwise_mean").item()
    with pytest.warns(UserWarning, match="'elementwise_mean' is deprecated"):
        layer = getattr(cr.nn, module)(reduction="elementwise_mean")
    assert layer.reduction == "mean"
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(layer(*ours(args)).item(), expected, rtol=1e-12)


@pytest.mark.parametrize("name", sorted(REFUSE))
def test_the_losses_torch_refuses_it_for_refuse_it(name):
    module, args = REFUSE[name]
    with pytest.raises(ValueError):
        getattr(TF, name)(*theirs(args), reduction="elementwise_mean")
    with pytest.raises(ValueError, match="elementwise_mean"):
        getattr(F, name)(*ours(args), reduction="elementwise_mean")
    with pytest.raises(ValueError, match="elementwise_mean"):
        getattr(cr.nn, module)(reduction="elementwise_mean")(*ours(args))
