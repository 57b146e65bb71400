"""Diagnosis rules that read the loss curve and the step sizes: divergence, a loss that
rose, a learning rate too high or too low, overfitting and plateaus."""

from __future__ import annotations

import math

import numpy as np

from chainrule.diagnose.finding import Finding
from chainrule.diagnose.run_view import RunView, num, pct
from chainrule.diagnose.thresholds import (
    GIVE_BACK,
    LOSS_ROSE_FACTOR,
    LOSS_ROSE_MIN,
    LOW_PROGRESS,
    LR_HIGH_RATIO,
    LR_HUGE_RATIO,
    LR_LOW_RATIO,
    MIN_EPOCHS_CURVE,
    OSCILLATION_SHARE,
    OSCILLATION_SIZE,
    OVERFIT_MIN_RISE,
    OVERFIT_RISE,
    OVERFIT_TRAIN_DROP,
    PLATEAU_PROGRESS,
    RISE_FROM_BEST,
)

__all__ = ["diverged", "loss_rose", "lr_too_high", "lr_too_low", "overfitting", "plateau"]


def diverged(run: RunView) -> Finding | None:
    error = run.rec.get("error")
    bad = ~np.isfinite(run.losses)
    curve = run.curve("loss")
    if error is None and not bad.any() and np.isfinite(curve).all():
        return None
    finite = run.finite_losses()
    start = num(finite[0]) if finite.size else "?"
    last = num(finite[-1]) if finite.size else "?"
    if error is not None and error.get("data") in ("X", "y"):
        return _bad_data(error, start, last)
    if error is not None:
        kind = error.get("kind") or "loss"
        where = f"epoch {error.get('epoch')}, batch {error.get('batch')}"
        what = {"gradient": "a gradient", "parameter": "a parameter"}.get(kind, "the loss")
        sentence = (
            f"Training diverged: {what} became NaN or infinite at {where}, after the loss had "
            f"gone from {start} to {last}."
        )
    else:
        step = int(np.argmax(bad)) * int(run.rec.get("loss_stride", 1)) if bad.any() else None
        where = f"at step {step + 1}" if step is not None else "in an epoch's logs"
        sentence = (
            f"Training diverged: the loss became NaN or infinite {where}, after going from "
            f"{start} to {last}."
        )
    ratio = run.median_ratio()
    return Finding(
        "DIVERGED",
        "critical",
        sentence,
        "Lower the learning rate (try 10x smaller) and standardise the inputs and targets; if "
        "one bad batch sets it off, clip the gradients' norm before each step.",
        {"loss_start": start, "loss_last_finite": last, "median_update_ratio": ratio},
    )


def _bad_data(error: dict, start, last) -> Finding:
    """NaN or inf in the training data stopped fit: lowering the learning rate cannot help."""
    what = "inputs (X)" if error["data"] == "X" else "targets (y)"
    message = str(error.get("message") or "")
    rows = message.split("because ", 1)[1].split(";")[0] if "because " in message else ""
    return Finding(
        "DIVERGED",
        "critical",
        f"Training stopped at epoch {error.get('epoch')}, batch {error.get('batch')}: the "
        f"{what} hold NaN or infinity{f' ({rows})' if rows else ''}, so the loss is not a "
        f"number; the model did not diverge (the loss had gone from {start} to {last}).",
        "Clean the data before training: drop or fill the rows with NaN or inf (e.g. "
        "X = X[np.isfinite(X).all(axis=1)], with y alike; chainrule train --impute fills "
        "missing cells of a CSV).",
        {"loss_start": start, "loss_last_finite": last, "bad_data": error["data"]},
    )


def loss_rose(run: RunView) -> Finding | None:
    ends = run.start_end()
    if ends is None or run.rec.get("error") is not None:
        return None
    # the first batch's loss is the only one before any step: a huge learning rate has
    # already wrecked the model by the second
    start, end = float(run.losses[0]), ends[1]
    if not (end > LOSS_ROSE_FACTOR * start and end - start > LOSS_ROSE_MIN):
        return None
    # Worse on every late batch, not only on the median one: with a few outlying rows the
    # batches holding one have losses far above those without, and a first batch without
    # any sets a low start that the falling epoch loss never had to beat.
    floor = run.end_floor()
    if not (floor > LOSS_ROSE_FACTOR * start and floor - start > LOSS_ROSE_MIN):
        return None
    ratio = run.median_ratio()
    steps = (
        f"each step changed the weights by {num(ratio)} of their size"
        if math.isfinite(ratio) and ratio > 0
        # "by 0 of their size": the steps that did the harm came first, then gradients died
        else "by the end the weights no longer moved: their gradients had vanished"
    )
    return Finding(
        "LOSS_ROSE",
        "critical",
        f"The loss ended at {num(end)}, {num(end / start)}x where it began ({num(start)}): "
        f"training made the model worse ({steps}).",
        "Lower the learning rate by 10x or more until the loss falls in the first epochs; "
        "standardise inputs and targets.",
        {"loss_start": start, "loss_end": end, "median_update_ratio": ratio},
    )


def _rises(run: RunView) -> tuple[bool, str]:
    """Whether the loss rises (ends well above its best) or oscillates, and how it does."""
    curve = run.smooth_curve()
    curve = curve[np.isfinite(curve)]
    if len(curve) < 3:
        return False, ""
    best, first, top = float(curve.min()), float(curve[0]), float(np.abs(curve).max())
    # a rise counts when it gives back a real share of the progress made (near a loss of 0,
    # 0.018 -> 0.027 is noise, not a learning rate problem)
    gave_back = curve[-1] - best >= GIVE_BACK * max(first - best, 0.0)
    if best > 0 and curve[-1] > RISE_FROM_BEST * best and gave_back:
        return True, f"the loss ends at {num(curve[-1])}, above its best {num(best)}"
    changes = np.diff(curve)
    ups = changes > 0
    size = float(np.abs(changes).mean()) / max(top, 1e-12)
    if ups.mean() >= OSCILLATION_SHARE and size >= OSCILLATION_SIZE:
        return True, (
            f"the loss went up in {int(ups.sum())} of {len(changes)} epochs, by "
            f"{pct(size)} of its largest value on average"
        )
    return False, ""


def lr_too_high(run: RunView) -> Finding | None:
    ratio = run.median_ratio()
    if not math.isfinite(ratio) or ratio <= LR_HIGH_RATIO:
        return None
    rising, how = _rises(run)
    if not rising and ratio <= LR_HUGE_RATIO:
        return None
    lr = run.lr()
    lr_text = f" (lr {num(lr)})" if lr is not None else ""
    because = f"{how}, and " if rising else ""
    return Finding(
        "LR_TOO_HIGH",
        "warning",
        f"The learning rate{lr_text} is too high: {because}each step changes the weights by "
        f"{num(ratio)} of their size (median |Δw|/|w|; about 1e-3 is healthy, above "
        f"{num(LR_HIGH_RATIO)} the steps overshoot).",
        "Divide the learning rate by 10 (or use a scheduler such as ReduceLROnPlateau).",
        {"median_update_ratio": ratio, "lr": lr, "curve": how},
    )


def lr_too_low(run: RunView) -> Finding | None:
    # the fastest-moving weight layer: slow early layers are vanishing gradients, not the lr;
    # a ratio of exactly 0 means no gradient at all (dead units), not a small step
    ratios = [run.late(run.rec.get("update_ratio", {}).get(n, [])) for n in run.weights()]
    ratios = [r for r in ratios if math.isfinite(r)]
    ratio = max(ratios) if ratios else math.nan
    ends = run.start_end()
    if ends is None or not math.isfinite(ratio) or not 0 < ratio < LR_LOW_RATIO:
        return None
    start, end = ends
    progress = (start - end) / abs(start) if start else 0.0
    if progress >= LOW_PROGRESS:
        return None
    lr = run.lr()
    lr_text = f" (lr {num(lr)})" if lr is not None else ""
    return Finding(
        "LR_TOO_LOW",
        "warning",
        f"The learning rate{lr_text} is too low: each step changes the weights by only "
        f"{num(ratio)} of their size (|Δw|/|w| of the fastest layer; about 1e-3 is healthy) and "
        f"the loss moved from {num(start)} to {num(end)} ({pct(progress)}) over the run.",
        "Multiply the learning rate by 10-100 (Adam: try 1e-3; SGD: 0.01-0.1).",
        {"median_update_ratio": ratio, "lr": lr, "loss_start": start, "loss_end": end},
    )


def overfitting(run: RunView) -> Finding | None:
    val, train = run.curve("val_loss"), run.curve("loss")
    if val.size < MIN_EPOCHS_CURVE or train.size != val.size or not np.isfinite(val).all():
        return None
    best = int(np.argmin(val))
    final = float(val[-1])
    if not (final > val[best] * (1 + OVERFIT_RISE) and final - val[best] > OVERFIT_MIN_RISE):
        return None
    if not train[-1] < train[best] * (1 - OVERFIT_TRAIN_DROP):
        return None
    return Finding(
        "OVERFITTING",
        "warning",
        f"The model overfits: the validation loss rose from {num(val[best])} at epoch "
        f"{best + 1} to {num(final)} at epoch {val.size}, while the training loss kept falling "
        f"({num(train[best])} -> {num(train[-1])}).",
        "Stop at the best epoch (EarlyStopping(restore_best_weights=True)), get more data, "
        "add weight decay or dropout, or use a smaller model.",
        {"best_epoch": best + 1, "best_val_loss": float(val[best]), "final_val_loss": final},
    )


def plateau(run: RunView) -> Finding | None:
    ends = run.start_end()
    if ends is None or not run.long_enough():
        return None
    start, end = ends
    if start <= 0:
        return None
    progress = (start - end) / start
    if progress >= PLATEAU_PROGRESS or end > start * LOSS_ROSE_FACTOR:
        return None
    return Finding(
        "PLATEAU",
        "info",
        f"The loss is stuck on a plateau: it went from {num(start)} to {num(end)} "
        f"({pct(progress)} lower) over {max(run.n_epochs, 1)} epoch(s), with gradients, "
        f"activations and step sizes that look healthy.",
        "Give the model more capacity (a hidden layer, more units) or nonlinearity, check "
        "that the features carry information about the target, or try another learning rate.",
        {"loss_start": start, "loss_end": end, "progress": progress},
    )
