"""The inner values of a normalisation layer, named. LayerNorm, GroupNorm and batch norm on the
batch's statistics compute x̂ = (x − mean) / √(var + eps) op by op; unnamed, a factor read
``1/b  (b = v10[0, 0])``. This names them after the layer: ``ln.mean``, ``ln.centred``,
``ln.var``, ``ln.eps``, ``ln.std`` and ``ln.x_hat``, so it reads ``1/b  (b = ln.std[0, 0])``."""

from __future__ import annotations

import contextlib

from chainrule.explain.numbers.running_stats import own_values
from chainrule.tensor import Tensor


@contextlib.contextmanager
def norm_node_names(model):
    """While active, each normalisation layer of ``model`` records id(tensor) -> name for the
    values inside it; yields that dict."""
    names: dict[int, str] = {}
    modules = model.named_modules() if hasattr(model, "named_modules") else ()
    handles = [
        module.register_forward_hook(_namer(path, names))
        for path, module in modules
        if path and "Norm" in type(module).__name__ and hasattr(module, "register_forward_hook")
    ]
    try:
        yield names
    finally:
        for handle in handles:
            handle.remove()


def _namer(path: str, names: dict):
    def hook(module, args, output):
        if isinstance(output, Tensor):
            for t, part in _parts(own_values(output, args)):
                names.setdefault(id(t), f"{path}.{part}")  # a layer called twice: named once

    return hook


def _parts(values: list) -> list:
    """(tensor, name) for x̂ = (x − mean) / √(var + eps), found by the ops' shape: a division
    by a square root of a sum; [] where the layer computes something else."""
    for x_hat in values:
        fn = x_hat._ctx
        if fn.label != "÷" or len(fn.parents) != 2:
            continue
        centred, std = fn.parents
        if std._ctx is None or std._ctx.label != "√":
            continue
        parts = [(x_hat, "x_hat"), (std, "std"), (centred, "centred")]
        total = std._ctx.parents[0]
        if total._ctx is not None and total._ctx.label == "+" and len(total._ctx.parents) == 2:
            var, eps = total._ctx.parents
            parts += [(var, "var")] + ([(eps, "eps")] if eps._ctx is None else [])
        if centred._ctx is not None and centred._ctx.label == "−":
            parts.append((centred._ctx.parents[1], "mean"))
        return parts
    return []
