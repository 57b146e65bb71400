"""The losses scikit-learn's estimators minimise, built from chainrule's loss modules."""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

__all__ = ["HalfPoissonDeviance", "HalfSquaredError", "OutputSum", "PenalizedLoss", "loss_fn"]


class HalfSquaredError:
    """½·mean((y − ŷ)²): scikit-learn's ``squared_error`` for the MLP, gradient (ŷ − y)/n.

    ``reduction="none"`` gives ½·(y − ŷ)² per element (for sample weights).
    """

    def __init__(self, reduction: str = "mean"):
        from chainrule import nn

        self.mse = nn.MSELoss()
        self.reduction = reduction

    def __call__(self, out, target):
        if self.reduction == "mean":
            return self.mse(out, target) * 0.5
        from chainrule import functional as F

        return F.mse_loss(out, target, reduction=self.reduction) * 0.5


class HalfPoissonDeviance:
    """scikit-learn's ``poisson`` loss on the log scale: the network gives z = log μ and the
    loss is y·log(y/μ) − y + μ per element, mean over the batch; its gradient is μ − y.

    ``reduction="none"`` gives the loss per element (for sample weights).
    """

    def __init__(self, reduction: str = "mean"):
        self.reduction = reduction

    def __call__(self, out, target):
        import chainrule as cr

        y = np.asarray(getattr(target, "array", target), dtype=np.float64)
        constant = xlogy(y, y) - y  # makes a perfect fit 0, as scikit-learn reports it
        y_t = cr.tensor(y.astype(out.dtype, copy=False))
        c_t = cr.tensor(constant.astype(out.dtype, copy=False))
        losses = out.exp() - y_t * out + c_t
        return losses if self.reduction == "none" else losses.mean()


class OutputSum:
    """scikit-learn's MLP loss over several output columns: summed, not averaged.

    scikit-learn trains every output with the delta ŷ − y per sample, the gradient of a loss
    summed over the outputs. chainrule's losses average over them, which divides that gradient
    by the number of outputs k (for SGD, a k times smaller step). This gives k times the mean
    loss (weighted, with ``sample_weight``). scikit-learn's *reported* squared error is the mean
    over the outputs, though (½·mean((y − ŷ)²)), while its multilabel log-loss is the sum:
    with ``report_mean`` the value is the mean and the gradient still the sum's.
    """

    def __init__(self, loss, report_mean: bool):
        self.loss, self.report_mean = loss, report_mean

    def __call__(self, out, target, sample_weight=None):
        if sample_weight is None:
            mean = self.loss(out, target)
        else:
            from chainrule.train.weighting import weighted_loss

            mean = weighted_loss(self.loss, out, target, sample_weight)
        k = out.shape[-1] if out.ndim > 1 else 1
        if k == 1:
            return mean
        total = mean * k
        if not self.report_mean:
            return total
        return total - total.detach() * (1.0 - 1.0 / k)  # the mean's value, the sum's gradient


class PenalizedLoss:
    """scikit-learn's weighted MLP loss of one batch: (Σ wᵢ·lᵢ + ½·α·Σ‖W‖²) / Σ wᵢ.

    With sample weights the L2 penalty is divided by the batch's weight sum rather than its
    size, so it cannot be a fixed weight decay: it is part of the loss (on the weights of the
    ``Linear`` layers, not the biases). A batch whose weights are all 0 adds nothing.
    """

    def __init__(self, loss, alpha: float, weights):
        self.loss, self.alpha, self.weights = loss, alpha, weights

    def __call__(self, out, target, sample_weight):
        from chainrule.train.weighting import weighted_loss

        total = float(sample_weight.sum())
        loss = weighted_loss(self.loss, out, target, sample_weight)
        if self.alpha == 0 or total == 0:
            return loss
        squares = sum((w * w).sum() for w in self.weights)
        return loss + squares * (0.5 * self.alpha / total)


def loss_fn(kind: str):
    """The loss for targets of ``kind``: "ce" (class indices), "bce" (0/1 columns), else MSE."""
    from chainrule import nn

    if kind == "ce":
        return nn.CrossEntropyLoss()
    if kind == "bce":
        return nn.BCEWithLogitsLoss()
    return HalfSquaredError()
