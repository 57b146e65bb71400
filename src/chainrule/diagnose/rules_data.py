"""Diagnosis rules that read the recorded data sample: unscaled features or targets, a
constant or leaked target, and imbalanced classes."""

from __future__ import annotations

import numpy as np

from chainrule.diagnose.finding import Finding
from chainrule.diagnose.run_view import RunView, num, pct
from chainrule.diagnose.thresholds import (
    FEATURE_SCALE,
    IMBALANCE_SHARE,
    LEAK_CORRELATION,
    MAJORITY_MARGIN,
    MIN_SAMPLE_ROWS,
    TARGET_SCALE,
)

__all__ = ["constant_target", "imbalance", "leaked_target", "unscaled_features", "unscaled_targets"]


def unscaled_features(run: RunView) -> Finding | None:
    x = run.x
    if x is None or run.x_integer or len(x) < MIN_SAMPLE_ROWS:
        return None
    mean, std = x.mean(axis=0), x.std(axis=0)
    scale = np.maximum(np.abs(mean), std)
    j = int(np.argmax(scale))
    if scale[j] <= FEATURE_SCALE:
        return None
    big = int((scale > FEATURE_SCALE).sum())
    return Finding(
        "UNSCALED_FEATURES",
        "warning",
        f"The inputs are not scaled: feature {j} has mean {num(mean[j])} and standard "
        f"deviation {num(std[j])} ({big} of {x.shape[1]} features beyond ±{num(FEATURE_SCALE)}), "
        f"so the first layer's pre-activations and gradients are huge for those weights.",
        "Standardise each feature (subtract the training mean, divide by the standard "
        "deviation), e.g. with cr.data.Preprocessor or sklearn's StandardScaler.",
        {"feature": j, "mean": float(mean[j]), "std": float(std[j]), "count": big},
    )


def unscaled_targets(run: RunView) -> Finding | None:
    y = run.y
    if y is None or len(y) < MIN_SAMPLE_ROWS or not run.regression():
        return None
    rms = float(np.sqrt(np.mean(y**2)))
    if rms <= TARGET_SCALE:
        return None
    return Finding(
        "UNSCALED_TARGETS",
        "warning",
        f"The regression targets are not scaled: they have mean {num(float(y.mean()))} and "
        f"standard deviation {num(float(y.std()))}, so the squared errors (and the gradients) "
        f"start huge and the learning rate that suits them is far from the usual.",
        "Standardise the targets (y - mean) / std for training and undo it on the predictions.",
        {"mean": float(y.mean()), "std": float(y.std()), "rms": rms},
    )


def constant_target(run: RunView) -> Finding | None:
    y = run.y
    if y is None or len(y) < MIN_SAMPLE_ROWS:
        return None
    if not np.all(y == y[0]):
        return None
    return Finding(
        "CONSTANT_TARGET",
        "critical",
        f"The target is constant: all {len(y)} sampled targets are {num(float(y.flat[0]))}, so "
        f"there is nothing to learn beyond outputting that value.",
        "Check the target column (a wrong --target, a filter that kept one class, labels "
        "overwritten during preprocessing).",
        {"value": float(y.flat[0]), "rows": len(y)},
    )


def _determines(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether equal values of ``a`` always come with equal values of ``b``."""
    pairs = np.unique(np.stack([a, b], axis=1), axis=0)
    return len(pairs) == len(np.unique(a))


def _distinct_per_column(x: np.ndarray) -> np.ndarray:
    """How many distinct values each column holds (one sort for all of them)."""
    ordered = np.sort(x, axis=0)
    return (np.diff(ordered, axis=0) != 0).sum(axis=0) + 1


def leaked_target(run: RunView) -> Finding | None:
    x, y = run.x, run.y
    if x is None or y is None or len(x) < MIN_SAMPLE_ROWS or len(x) != len(y):
        return None
    target = y[:, 0]
    if np.all(target == target[0]):
        return None
    labels = run.classes()
    found = None
    if labels is not None:
        classes = len(np.unique(labels))
        # a column can match the classes one-to-one only with as many distinct values
        for j in np.flatnonzero(_distinct_per_column(x) == classes):
            column = x[:, j]
            if _determines(column, labels) and _determines(labels, column):
                found = int(j), "determines the class exactly (one value per class)"
                break
    else:
        sd_x, sd_y = x.std(axis=0), target.std()
        if sd_y > 0:
            safe = np.where(sd_x > 0, sd_x, 1.0)
            r = ((x - x.mean(axis=0)) * (target - target.mean())[:, None]).mean(axis=0)
            r = np.where(sd_x > 0, r / (safe * sd_y), 0.0)
            j = int(np.argmax(np.abs(r)))
            if abs(r[j]) >= LEAK_CORRELATION:
                found = j, f"has correlation {r[j]:.4f} with the target"
    if found is None:
        return None
    j, how = found
    return Finding(
        "LEAKED_TARGET",
        "critical",
        f"Feature {j} is the target in disguise: on all {len(x)} sampled rows it {how}. The "
        f"model learns to copy it, and its scores say nothing about new data where that "
        f"feature is not known.",
        "Drop that feature (or the column derived from the label) before training.",
        {"feature": j, "rows": len(x)},
    )


def imbalance(run: RunView) -> Finding | None:
    labels = run.classes()
    if labels is None or len(labels) < MIN_SAMPLE_ROWS:
        return None
    values, counts = np.unique(labels, return_counts=True)
    if len(values) < 2:
        return None
    share = float(counts.max() / counts.sum())
    majority = values[int(np.argmax(counts))]
    if share < IMBALANCE_SHARE:
        return None
    key = "val_accuracy" if "val_accuracy" in run.epochs else "accuracy"
    acc = run.curve(key)
    acc = acc[np.isfinite(acc)]
    if acc.size == 0 or acc[-1] > share + MAJORITY_MARGIN:
        return None
    return Finding(
        "CLASS_IMBALANCE",
        "warning",
        f"{pct(share)} of the targets are class {majority:g} and the {key.replace('_', ' ')} "
        f"is {pct(float(acc[-1]))}, the majority rate: the model has learned to predict "
        f"class {majority:g} for (nearly) everything.",
        "Weight the loss by class (CrossEntropyLoss(weight=...), BCEWithLogitsLoss("
        "pos_weight=...)) or resample the classes, and judge by F1 or recall, not accuracy.",
        {"majority_class": float(majority), "share": share, "accuracy": float(acc[-1])},
    )
