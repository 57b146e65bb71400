"""The words for a loss: its formula and its derivative with respect to the output.

Only words: the numbers always come from the engine's graph. The text lives once, on the loss
module classes (``mean_formula``, ``mean_derivative`` in ``nn/loss.py``); a loss given as a
function (``F.mse_loss``) reads the text of its module.
"""

from __future__ import annotations

import numpy as np

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


def describe(loss_fn, target=None, out_shape=None) -> tuple[str | None, str | None]:
    """(formula, derivative formula) for ``loss_fn``, or (None, None) when unknown.

    A loss module (or any callable) may carry its own ``formula`` and ``derivative`` strings.
    Cross-entropy given class probabilities (``target`` of the output's shape ``out_shape``)
    gets their words, not those of class indices.
    """
    module = _FUNCTIONS.get(str(getattr(loss_fn, "__name__", "")), type(loss_fn))
    if _probabilities(module, target, out_shape):
        reduction = getattr(loss_fn, "reduction", "mean")
        return (
            _loss._for_reduction(module.probability_formula, reduction, derivative=False),
            _loss._for_reduction(module.probability_derivative, reduction, derivative=True),
        )
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


def _probabilities(module, target, out_shape) -> bool:
    """Cross-entropy's target holds a probability per class (floats of the output's shape)."""
    if not (isinstance(module, type) and issubclass(module, _loss.CrossEntropyLoss)):
        return False
    if target is None or out_shape is None:
        return False
    labels = np.asarray(getattr(target, "array", target))
    return labels.dtype.kind == "f" and labels.shape == tuple(out_shape)


def plain(loss_fn, target) -> bool:
    """No class or sample weights, no positive weight, no label smoothing and no ignored target:
    the loss is what :func:`describe`'s words say (with them its value is another number, and
    the explanation takes the loss op's own formula instead)."""
    if not isinstance(loss_fn, _loss._Loss):
        return True  # a function: called with its defaults
    if getattr(loss_fn, "weight", None) is not None:
        return False
    if getattr(loss_fn, "pos_weight", None) is not None or getattr(loss_fn, "label_smoothing", 0):
        return False
    ignored = getattr(loss_fn, "ignore_index", None)
    labels = np.asarray(getattr(target, "array", target))
    return ignored is None or labels.dtype.kind not in "iu" or not np.any(labels == ignored)


def constants(loss_fn) -> str | None:
    """The constants a loss's formula names (``δ = 0.5`` for Huber, ``β = 1`` for smooth L1),
    which a reader cannot see in ``clip(o − t, −δ, δ)``; None for a loss without any."""
    module = _FUNCTIONS.get(str(getattr(loss_fn, "__name__", "")), type(loss_fn))
    if module is _loss.HuberLoss:
        return f"δ = {float(getattr(loss_fn, 'delta', 1.0)):g}"  # a function: its default
    if module is _loss.SmoothL1Loss:
        return f"β = {float(getattr(loss_fn, 'beta', 1.0)):g}"
    return None


# what a mean-reduced loss divides by: every output element, or every sample
_PER_ELEMENT = (
    _loss.MSELoss,
    _loss.L1Loss,
    _loss.HuberLoss,
    _loss.SmoothL1Loss,
    _loss.BCELoss,
    _loss.BCEWithLogitsLoss,
)
_PER_SAMPLE = (_loss.CrossEntropyLoss, _loss.NLLLoss)


def mean_count(loss_fn, out_shape: tuple, target) -> str | None:
    """``"n = 6"`` (or ``"N = 2"`` for a loss over classes): the count the derivative's ``/n``
    stands for, which a reader cannot guess (MSE divides by every output of every sample, cross
    entropy by the samples); None where the loss is not :func:`plain` or not one of these."""
    if getattr(loss_fn, "reduction", "mean") != "mean" or not plain(loss_fn, target):
        return None
    module = _FUNCTIONS.get(str(getattr(loss_fn, "__name__", "")), type(loss_fn))
    if issubclass(module, _PER_ELEMENT):
        n, letter = int(np.prod(out_shape)), "n"
    elif issubclass(module, _PER_SAMPLE) and len(out_shape) == 2:
        n, letter = int(out_shape[0]), "N"
    else:
        return None
    return f"{letter} = {n}"  # named even where it is 1: a formula's n is never left undefined
