"""What the loss says the targets are, checked against the targets ``fit`` is given.

PyTorch's BCE losses compute on any target, so ``-1``/``1`` labels (an SVM's habit) or
``1``/``2`` labels train with a loss that falls below zero without end, and ``fit`` reported
it as a run that worked. A regression loss on whole-number targets (counts, prices in
cents) got the default ``accuracy``, a threshold at 0.5 against targets like 37: a number
that means nothing. Regression targets of a large scale (prices of 300,000) trained "fine"
into a model whose outputs never got near them (r2 of -10 after 50 epochs), where the
command line standardises targets by itself: ``fit`` warns. All are settled here, once per
run, on array-backed data.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.errors import DataError

__all__ = [
    "check_fit_targets",
    "check_loss_targets",
    "loss_targets",
    "value_targets",
    "warn_unscaled_targets",
]

#: Regression targets whose root mean square exceeds this get a warning: an output layer
#: starts near 0 and, with the usual learning rates, reaches values of 1,000 only after
#: many thousands of steps (50 epochs of Adam at lr 0.01: r2 0.98 at a scale of 25, 0.89 at
#: 100, -0.74 at 1,000). The diagnosis (UNSCALED_TARGETS) flags 10 and up after the run.
UNSCALED_TARGET_RMS = 100.0

#: ... and those whose standard deviation is below this (returns, rates, probabilities of
#: 1e-4): the outputs move by more than the targets' spread at every step of the usual
#: learning rates (50 epochs of Adam at lr 0.01: validation r2 0.999 at a spread of 1, 0.90
#: at 0.01, -8 at 0.001, -9e8 at 1e-7).
TINY_TARGET_STD = 0.01

#: What the functional losses' targets are (the loss modules declare ``targets``).
_FUNCTION_TARGETS = {
    "mse_loss": "values",
    "l1_loss": "values",
    "huber_loss": "values",
    "smooth_l1_loss": "values",
    "binary_cross_entropy": "probabilities",
    "binary_cross_entropy_with_logits": "probabilities",
}


def loss_targets(loss_fn) -> str | None:
    """``"values"``, ``"probabilities"``, ``"classes"`` or ``None`` (not declared)."""
    declared = getattr(type(loss_fn), "targets", None)
    if isinstance(declared, str):
        return declared
    return _FUNCTION_TARGETS.get(getattr(loss_fn, "__name__", ""))


def _targets(loader) -> np.ndarray | None:
    """The whole target array of array-backed data, else None."""
    arrays = getattr(loader.dataset, "arrays", None)
    if arrays is None or len(arrays) < 2:
        return None
    y = arrays[1]
    return np.asarray(getattr(y, "array", y))


def value_targets(loss_fn, loader) -> bool:
    """Whether a regression loss is given numbers other than 0/1 labels (whole numbers
    included): then class metrics such as accuracy mean nothing."""
    if loss_targets(loss_fn) != "values":
        return False
    y = _targets(loader)
    return y is not None and y.dtype.kind in "iuf" and not np.isin(y, (0, 1)).all()


def check_fit_targets(loss_fn, loader, val_loader) -> None:
    """``fit``'s checks of its targets against its loss, training and validation data."""
    check_loss_targets(loss_fn, loader, "fit", "y")
    if val_loader is not None:
        check_loss_targets(loss_fn, val_loader, "fit", "the validation y")
    warn_unscaled_targets(loss_fn, loader, stacklevel=5)  # fit → _prepare → here → warn


def warn_unscaled_targets(loss_fn, loader, stacklevel: int = 2) -> None:
    """Warn, naming the fix, when a regression loss is given targets of a large scale, or of
    a spread too small for the usual learning rates to resolve."""
    if loss_targets(loss_fn) != "values":
        return
    y = _targets(loader)
    if y is None or y.size == 0 or y.dtype.kind not in "iuf":
        return
    y = y.astype(np.float64, copy=False)
    with np.errstate(over="ignore", invalid="ignore"):
        rms = float(np.sqrt(np.nanmean(np.square(y))))
    mean, std = float(np.nanmean(y)), float(np.nanstd(y))
    if not np.isfinite(rms) or not (rms > UNSCALED_TARGET_RMS or 0 < std < TINY_TARGET_STD):
        return
    why = (
        "the outputs start near 0 and reach such values only after many thousands of steps, "
        "so the run ends far from them"
        if rms > UNSCALED_TARGET_RMS
        else "their spread is so small that each step of the usual learning rates moves the "
        "outputs by more than it, so the run never resolves it"
    )
    warnings.warn(
        f"fit: the regression targets are not scaled (mean {mean:.4g}, standard deviation "
        f"{std:.4g}): {why}; standardise them for training, y_s = (y - "
        f"y.mean()) / y.std(), and undo it on the predictions, p * y.std() + y.mean() (data "
        f"from cr.data.load_csv: data.preprocessor.fit_target(y_train), .scale_target(y), "
        f".unscale_target(p))",
        UserWarning,
        stacklevel=stacklevel,
    )


def check_loss_targets(loss_fn, loader, owner: str, what: str) -> None:
    """Refuse targets outside [0, 1] for a BCE loss, naming them and the fix."""
    if loss_targets(loss_fn) != "probabilities":
        return
    y = _targets(loader)
    if y is None or y.size == 0 or y.dtype.kind not in "iuf":
        return
    with np.errstate(invalid="ignore"):
        low, high = float(np.nanmin(y)), float(np.nanmax(y))
    if not (np.isfinite(low) and np.isfinite(high)) or (low >= 0 and high <= 1):
        return  # NaN and inf are the finite-value checks' to name, with their rows
    name = getattr(type(loss_fn), "__name__", "the loss")
    if not hasattr(type(loss_fn), "targets"):
        name = getattr(loss_fn, "__name__", name)
    values = np.unique(y[np.isfinite(y)]) if y.dtype.kind == "f" else np.unique(y)
    if len(values) == 2:
        a, b = (_shown(v) for v in values)
        fix = f"two labels, {a} and {b}: make them 0 and 1, e.g. y = (y == {b}).astype('float32')"
    else:
        fix = (
            f"{len(values)} distinct values: for classes, use CrossEntropyLoss with one output "
            f"per class and labels 0..k-1; for amounts, a regression loss such as MSELoss"
        )
    raise DataError(
        f"{owner}: {name} needs targets in [0, 1] (0/1 labels or probabilities), but {what} "
        f"holds values from {_shown(low)} to {_shown(high)} (its loss falls below zero without "
        f"end); {fix}"
    )


def _shown(value) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"
