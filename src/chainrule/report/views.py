"""The numbers behind the pictures, shared by the HTML report and the playground.

Decision-boundary grids, each neuron's output over the plane, the network's layers with their
weights and gradients: all computed by running the model itself (no reimplementation of its
maths), with plain NumPy arrays out.
"""

from __future__ import annotations

import numpy as np

from chainrule import nn, registry
from chainrule.autograd.grad_mode import no_grad
from chainrule.tensor import Tensor

# What a last layer declares (``produces``) when its output is already a probability.
_PROBABILITIES = ("probability", "distribution")


def model_dtype(model) -> np.dtype:
    for p in model.parameters():
        if p.array.dtype.kind == "f":
            return p.array.dtype
    return np.dtype(np.float32)


def run(model, X: np.ndarray) -> np.ndarray:
    """The model's raw output for the rows of ``X`` (no graph is recorded)."""
    with no_grad():
        out = model(Tensor._make(np.asarray(X, dtype=model_dtype(model)), False))
    return np.asarray(out.array, dtype=np.float64)


def output_kind(model, loss: str | None = None) -> str:
    """How to read the output: ``"logit"`` (one column, BCE with logits), ``"value"`` (one column
    of probabilities or regression values) or ``"scores"`` (one column per class)."""
    last = list(model)[-1] if hasattr(model, "__iter__") else None
    outputs = getattr(last, "out_features", None)
    if outputs is not None and outputs > 1:
        return "scores"
    if loss in ("mse", "l1", "huber") or getattr(last, "produces", None) in _PROBABILITIES:
        return "value"
    return "logit"


def probabilities(raw: np.ndarray, kind: str) -> np.ndarray:
    """Class probabilities: ``(N,)`` P(class 1) for one output column, ``(N, C)`` otherwise."""
    if kind == "scores":
        shifted = raw - raw.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)
    col = raw.reshape(-1)
    if kind == "logit":
        return 0.5 * (1.0 + np.tanh(0.5 * col))  # the logistic function, without overflow
    return np.clip(col, 0.0, 1.0)


def extent(X: np.ndarray, margin: float = 0.15) -> list:
    """``[xmin, xmax, ymin, ymax]`` around the first two features, with a margin."""
    X = np.asarray(X, dtype=np.float64)
    lo, hi = X[:, :2].min(axis=0), X[:, :2].max(axis=0)
    span = np.maximum(hi - lo, 1e-6)
    lo, hi = lo - margin * span, hi + margin * span
    return [float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])]


def grid(ext, size: int) -> np.ndarray:
    """``size * size`` points covering ``ext`` row by row, top row first (y decreasing)."""
    xs = np.linspace(ext[0], ext[1], size)
    ys = np.linspace(ext[3], ext[2], size)
    gx, gy = np.meshgrid(xs, ys)
    return np.stack([gx.reshape(-1), gy.reshape(-1)], axis=1)


def boundary(model, ext, size: int, kind: str) -> dict:
    """The decision surface on a grid: P(class 1) per cell for one output column, or the
    winning class and its probability per cell for several."""
    probs = probabilities(run(model, grid(ext, size)), kind)
    if probs.ndim == 1:
        return {"size": size, "extent": list(ext), "classes": 2, "p": probs}
    return {
        "size": size,
        "extent": list(ext),
        "classes": int(probs.shape[1]),
        "label": probs.argmax(axis=1),
        "p": probs.max(axis=1),
    }


def layer_outputs(model, X: np.ndarray) -> list:
    """Each layer's output for the rows of ``X``: one ``(N, width)`` array per hidden layer (after
    its activation) and one for the output layer (before any loss)."""
    modules = list(model)
    outs = []
    with no_grad():
        h = Tensor._make(np.asarray(X, dtype=model_dtype(model)), False)
        for i, module in enumerate(modules):
            h = module(h)
            nxt = modules[i + 1] if i + 1 < len(modules) else None
            # a layer ends where the next Linear begins (or at the end of the model)
            if nxt is None or hasattr(nxt, "in_features"):
                outs.append(np.asarray(h.array, dtype=np.float64))
    return outs


def linear_layers(model) -> list:
    """``(index, module)`` of each Linear layer in a Sequential model, in order."""
    return [(i, m) for i, m in enumerate(model) if hasattr(m, "in_features")]


def activation_names(model) -> list:
    """The activation after each Linear layer (``"identity"`` when there is none)."""
    modules = list(model)
    names = []
    for i, _ in linear_layers(model):
        nxt = modules[i + 1] if i + 1 < len(modules) else None
        names.append(
            "identity" if nxt is None or hasattr(nxt, "in_features") else type(nxt).__name__.lower()
        )
    return names


def is_plottable_mlp(model) -> bool:
    """True for a Sequential of Linear layers and element-wise activations only."""
    if not hasattr(model, "__iter__"):
        return False
    allowed = {nn.Linear, nn.Identity, *registry.ACTIVATIONS.values()}
    modules = list(model)
    return bool(modules) and all(type(m) in allowed for m in modules)


def grad_norms(model) -> dict:
    """The L2 norm of each parameter's current gradient (parameters without one are left out)."""
    out = {}
    for name, p in model.named_parameters():
        if p.grad_array is not None:
            out[name] = float(np.linalg.norm(np.asarray(p.grad_array, dtype=np.float64)))
    return out
