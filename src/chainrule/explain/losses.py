"""The words for a loss: its formula and its derivative with respect to the output.

Only words: the numbers always come from the engine's graph. The text lives once, on the loss
module classes (``mean_formula``, ``mean_derivative`` in ``nn/loss.py``); a loss given as a
function (``F.mse_loss``) reads the text of its module.
"""

from __future__ import annotations

from chainrule.nn import loss as _loss

# function name -> the module class that carries its text
_FUNCTIONS = {
    "mse_loss": _loss.MSELoss,
    "l1_loss": _loss.L1Loss,
    "huber_loss": _loss.HuberLoss,
    "smooth_l1_loss": _loss.SmoothL1Loss,
    "binary_cross_entropy": _loss.BCELoss,
    "binary_cross_entropy_with_logits": _loss.BCEWithLogitsLoss,
    "cross_entropy": _loss.CrossEntropyLoss,
    "nll_loss": _loss.NLLLoss,
}


def describe(loss_fn) -> tuple[str | None, str | None]:
    """(formula, derivative formula) for ``loss_fn``, or (None, None) when unknown.

    A loss module (or any callable) may carry its own ``formula`` and ``derivative`` strings.
    """
    formula = getattr(loss_fn, "formula", None)
    derivative = getattr(loss_fn, "derivative", None)
    if isinstance(formula, str):
        return formula, derivative if isinstance(derivative, str) else None
    module = _FUNCTIONS.get(str(getattr(loss_fn, "__name__", "")))
    if module is None:
        return None, None
    reduction = getattr(loss_fn, "reduction", "mean")
    return (
        _loss._for_reduction(module.mean_formula, reduction, derivative=False),
        _loss._for_reduction(module.mean_derivative, reduction, derivative=True),
    )
