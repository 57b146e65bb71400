"""The losses scikit-learn's estimators minimise, built from chainrule's loss modules."""

from __future__ import annotations

__all__ = ["HalfSquaredError", "loss_fn"]


class HalfSquaredError:
    """½·mean((y − ŷ)²): scikit-learn's ``squared_error`` for the MLP, gradient (ŷ − y)/n."""

    def __init__(self):
        from chainrule import nn

        self.mse = nn.MSELoss()

    def __call__(self, out, target):
        return self.mse(out, target) * 0.5


def loss_fn(kind: str):
    """The loss for targets of ``kind``: "ce" (class indices), "bce" (0/1 columns), else MSE."""
    from chainrule import nn

    if kind == "ce":
        return nn.CrossEntropyLoss()
    if kind == "bce":
        return nn.BCEWithLogitsLoss()
    return HalfSquaredError()
