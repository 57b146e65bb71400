"""Formulas of the common losses (for the report's text) and their derivatives w.r.t. the output.

Only words: the numbers always come from the engine's graph.
"""

from __future__ import annotations

# name -> (loss formula, ∂E/∂o formula); o is the network output, t the target, n the number of
# elements averaged over, N the number of samples.
KNOWN = {
    "mse": ("E = 1/n · Σ (o − t)²", "2·(o − t)/n"),
    "l1": ("E = 1/n · Σ |o − t|", "sign(o − t)/n"),
    "huber": ("E = 1/n · Σ huber(o − t)", "clip(o − t, −δ, δ)/n"),
    "bce": ("E = −1/n · Σ [t·ln(o) + (1 − t)·ln(1 − o)]", "(o − t)/(o·(1 − o))/n"),
    "bce_logits": (
        "E = −1/n · Σ [t·ln σ(o) + (1 − t)·ln(1 − σ(o))]",
        "(σ(o) − t)/n",
    ),
    "ce": ("E = −1/N · Σ_n ln softmax(o_n)[t_n]", "(softmax(o) − onehot(t))/N"),
    "nll": ("E = −1/N · Σ_n o_n[t_n]", "−onehot(t)/N"),
}

_ALIASES = {
    "mseloss": "mse",
    "mse_loss": "mse",
    "l1loss": "l1",
    "l1_loss": "l1",
    "huberloss": "huber",
    "huber_loss": "huber",
    "bceloss": "bce",
    "binary_cross_entropy": "bce",
    "bcewithlogitsloss": "bce_logits",
    "binary_cross_entropy_with_logits": "bce_logits",
    "crossentropyloss": "ce",
    "cross_entropy": "ce",
    "nllloss": "nll",
    "nll_loss": "nll",
}


def describe(loss_fn) -> tuple[str | None, str | None]:
    """(formula, derivative formula) for ``loss_fn``, or (None, None) when unknown.

    A loss function may carry its own ``formula`` and ``derivative`` attributes (strings).
    """
    formula = getattr(loss_fn, "formula", None)
    derivative = getattr(loss_fn, "derivative", None)
    if isinstance(formula, str):
        return formula, derivative if isinstance(derivative, str) else None
    name = getattr(loss_fn, "__name__", None) or type(loss_fn).__name__
    key = _ALIASES.get(str(name).lower())
    if key is None:
        return None, None
    formula, derivative = KNOWN[key]
    reduction = getattr(loss_fn, "reduction", "mean")
    if reduction == "sum":
        formula = formula.replace("1/n · ", "").replace("−1/n · ", "−").replace("−1/N · ", "−")
        derivative = derivative.replace("/n", "").replace("/N", "")
    return formula, derivative
