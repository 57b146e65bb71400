"""Training plots: loss/metric curves, decision boundaries of 2-D classifiers, confusion matrices.

Reached as ``cr.plot``. matplotlib is imported on first use and only its object-oriented API is
used (no ``pyplot``, no global backend switch), so plotting works on servers without a display
and does not disturb a user's own figures. Each function writes its file atomically (the old
file or the new one, never half of one) and returns the path; with ``path=None`` it returns
the matplotlib ``Figure`` instead, to show or adjust.
"""

from __future__ import annotations

import numpy as np

from chainrule.train.figure import figure as _figure
from chainrule.train.figure import save as _save
from chainrule.train.plot_conv import conv_filters, feature_maps  # CNN pictures

__all__ = [
    "confusion_matrix",
    "conv_filters",
    "decision_boundary",
    "feature_maps",
    "history_curves",
]


def history_curves(history, path=None, metrics=None, title: str | None = None):
    """Loss and metric curves of a :class:`~chainrule.History`: one panel per quantity.

    Training values are solid lines, validation values (``val_*``) dashed, against the epoch
    number (counted from 1). ``metrics`` picks the panels besides the loss (default: every
    metric in the history; ``"lr"`` and ``"time"`` only when asked for).
    """
    logs = history.history
    if "loss" not in logs:
        raise ValueError("the history has no 'loss' to plot; train with cr.fit first")
    if metrics is None:
        metrics = [k for k in logs if not k.startswith("val_") and k not in ("loss", "lr", "time")]
    panels = ["loss", *[m for m in metrics if m != "loss"]]
    missing = [m for m in panels if m not in logs]
    if missing:
        raise ValueError(f"not in the history: {', '.join(missing)}; it has {', '.join(logs)}")
    fig = _figure(4.2 * len(panels), 3.4)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    epochs = np.asarray(history.epoch) + 1
    for ax, key in zip(axes, panels):
        ax.plot(epochs, logs[key], label=f"training {key}", color="tab:blue")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], "--", label=f"validation {key}", color="tab:orange")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return _save(fig, path)


def _last_module(model):
    children = getattr(model, "_modules", None)
    if children:
        return _last_module(list(children.values())[-1])
    return model


def _as_probabilities(out: np.ndarray, model, output: str) -> np.ndarray:
    """Class-1 probability (one column) or class probabilities (several columns)."""
    if output == "auto":
        last = type(_last_module(model)).__name__
        if last in ("Sigmoid", "Softmax"):
            output = "probabilities"
        elif last == "LogSoftmax":
            output = "log_probabilities"
        elif out.min() >= 0 and out.max() <= 1:
            output = "probabilities"
        else:
            output = "logits"
    if output == "probabilities":
        return out
    if output == "log_probabilities":
        return np.exp(out)
    if output != "logits":
        raise ValueError(f"output must be 'auto', 'logits' or 'probabilities', got {output!r}")
    if out.shape[-1] == 1:
        return 0.5 * (1.0 + np.tanh(0.5 * out))  # the sigmoid, without overflow
    shifted = np.exp(out - out.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def decision_boundary(
    model,
    X,
    y,
    path=None,
    resolution: int = 200,
    output: str = "auto",
    title: str | None = None,
    margin: float = 0.1,
):
    """Where a 2-D classifier draws its class borders, with the data points on top.

    Binary models (one output) are drawn as the predicted probability of class 1 (a blue-red
    colour ramp with the 0.5 contour as the boundary); multiclass models (several outputs) as
    regions of the predicted class.

    Args:
        model: a trained model taking ``(N, 2)`` inputs.
        X: ``(N, 2)`` points; y: ``(N,)`` class labels (colours of the points).
        path: the image file to write; ``None`` returns the figure.
        resolution: grid points per axis.
        output: what the model outputs: ``"logits"``, ``"probabilities"`` or ``"auto"`` (from
            a final Sigmoid/Softmax layer, else from whether the outputs lie in [0, 1]).
        margin: extra room around the data, as a fraction of its range.
    """
    from chainrule.train.evaluate import predict

    X = np.asarray(X.array if hasattr(X, "requires_grad") else X, dtype=np.float64)
    y = np.asarray(y.array if hasattr(y, "requires_grad") else y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"decision_boundary draws 2-D inputs; got X of shape {X.shape} (need (N, 2))"
        )
    xs, ys, gx, gy = _grid(X, resolution, margin)
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    out = np.asarray(predict(model, grid, batch_size=4096), dtype=np.float64)
    out = out.reshape(len(grid), -1)
    probs = _as_probabilities(out, model, output)

    fig = _figure(5.2, 4.4)
    ax = fig.subplots()
    if probs.shape[1] == 1:
        colours = _draw_probability(fig, ax, gx, gy, probs[:, 0], y)
    else:
        colours = _draw_regions(ax, gx, gy, probs, y)
    _scatter_classes(ax, X, y, colours)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.legend(fontsize="small", loc="best")
    ax.set_title(title or "decision boundary")
    return _save(fig, path)


def _grid(X: np.ndarray, resolution: int, margin: float):
    """Grid axes ``xs``, ``ys`` around the points (``margin`` of their range on each side)
    and the ``meshgrid`` of them."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * margin + 1e-9
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    ys = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, gx, gy


def _draw_probability(fig, ax, gx, gy, p1: np.ndarray, y: np.ndarray) -> dict:
    """A binary model: P(class 1) as a colour ramp with its 0.5 contour; returns point colours."""
    surface = p1.reshape(gx.shape)
    filled = ax.contourf(gx, gy, surface, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.75)
    ax.contour(gx, gy, surface, levels=[0.5], colors="k", linewidths=1.2)
    fig.colorbar(filled, ax=ax, label="P(class 1)")
    classes = np.unique(y)
    return {c: ("tab:red" if c == classes.max() else "tab:blue") for c in classes}


def _draw_regions(ax, gx, gy, probs: np.ndarray, y: np.ndarray) -> dict:
    """A multiclass model: the region of each predicted class; returns point colours."""
    from matplotlib import colormaps

    k = probs.shape[1]
    regions = probs.argmax(axis=1).reshape(gx.shape)
    ax.contourf(
        gx, gy, regions, levels=np.arange(k + 1) - 0.5, cmap="tab10", vmin=0, vmax=9, alpha=0.35
    )
    cmap = colormaps["tab10"]
    return {c: cmap(int(c) % 10) for c in np.unique(y)}


def _scatter_classes(ax, X: np.ndarray, y: np.ndarray, colours: dict) -> None:
    for c, colour in colours.items():
        mask = y == c
        ax.scatter(
            X[mask, 0],
            X[mask, 1],
            s=12,
            color=colour,
            edgecolors="k",
            linewidths=0.3,
            label=f"class {c}",
        )


def confusion_matrix(cm, labels=None, path=None, normalize: bool = False, title: str | None = None):
    """A confusion matrix as a heat map with the counts written in each cell.

    Args:
        cm: ``(K, K)`` counts, rows = true class, columns = predicted class (as
            :func:`chainrule.metrics.confusion_matrix` returns).
        labels: K class names (default ``0 … K-1``).
        normalize: show each row as fractions of its true class (counts still written).
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"a confusion matrix is square (K, K); got shape {cm.shape}")
    k = cm.shape[0]
    labels = [str(v) for v in (labels if labels is not None else range(k))]
    if len(labels) != k:
        raise ValueError(f"{len(labels)} labels for a {k}×{k} confusion matrix")
    rows = cm.sum(axis=1, keepdims=True)
    shown = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0) if normalize else cm
    size = max(3.5, 0.45 * k + 2.5)
    fig = _figure(size + 0.8, size)
    ax = fig.subplots()
    image = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax, label="fraction of true class" if normalize else "count")
    ax.set_xticks(range(k), labels, rotation=45 if max(map(len, labels)) > 3 else 0)
    ax.set_yticks(range(k), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    top = shown.max() if shown.size else 0
    for i in range(k):
        for j in range(k):
            text = f"{cm[i, j]}" if not normalize else f"{shown[i, j]:.2f}"
            dark = top > 0 and shown[i, j] > 0.6 * top
            ax.text(
                j,
                i,
                text,
                ha="center",
                va="center",
                fontsize="small",
                color="white" if dark else "black",
            )
    ax.set_title(title or "confusion matrix")
    return _save(fig, path)
