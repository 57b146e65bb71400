"""Batch norm's running statistics, named in the explanation. In evaluation mode a batch norm
layer computes (x − running_mean) · 1/√(running_var + ε) with both statistics as constants of
the graph; unnamed they would print as ``c4`` and ``c6``. This names them after the module's
buffers (``bn.running_mean``, ``bn.inv_std``) and writes the layer's formula with the values."""

from __future__ import annotations

import contextlib

import numpy as np

from chainrule.explain.format import fmt
from chainrule.tensor import Tensor


@contextlib.contextmanager
def running_stat_names(model):
    """While active, each batch-norm layer of ``model`` that runs on its running statistics
    records id(constant) -> name for its two constants; yields ``(names, notes)``, the notes
    being one sentence per layer with its formula and its buffers' values."""
    names: dict[int, str] = {}
    notes: list[str] = []
    if not hasattr(model, "named_modules"):
        yield names, notes
        return
    handles = [
        module.register_forward_hook(_namer(path, module, names, notes))
        for path, module in model.named_modules()
        if path and _uses_running_stats(module)
    ]
    try:
        yield names, notes
    finally:
        for handle in handles:
            handle.remove()


def _uses_running_stats(module) -> bool:
    return (
        type(module).__name__.startswith("BatchNorm")
        and getattr(module, "track_running_stats", False)
        and getattr(module, "running_mean", None) is not None
        and hasattr(module, "register_forward_hook")
    )


def _namer(path: str, module, names: dict, notes: list):
    def hook(mod, args, output):
        if mod.training or not isinstance(output, Tensor):
            return
        found = _constants(output, args, mod.running_mean.array)
        if found is None or id(found[0]) in names:
            return  # not the graph we know, or the layer called twice: named once
        mean, scale = found
        names[id(mean)] = f"{path}.running_mean"
        names[id(scale)] = f"{path}.inv_std"
        notes.append(_formula(path, mod))

    return hook


def _constants(output: Tensor, args, running_mean: np.ndarray):
    """The (mean, 1/std) constants of the layer's graph: the subtrahend of ``x − mean`` that
    shares memory with ``running_mean``, and the factor that multiplies that difference."""
    ops = [t._ctx for t in own_values(output, args)]
    minus = next(
        (
            fn
            for fn in ops
            if fn.label == "−"
            and len(fn.parents) == 2
            and fn.parents[1]._ctx is None
            and np.shares_memory(fn.parents[1].array, running_mean)
        ),
        None,
    )
    if minus is None:
        return None
    for fn in ops:
        if fn.label == "×" and len(fn.parents) == 2 and fn.parents[0]._ctx is minus:
            return minus.parents[1], fn.parents[1]
    return None


def own_values(output: Tensor, args) -> list:
    """The values a layer's own ops made: back from its output to its inputs ``args``."""
    stop = {id(a) for a in args if isinstance(a, Tensor)}
    values, seen, todo = [], set(), [output]
    while todo:
        t = todo.pop()
        fn = t._ctx
        if fn is None or id(t) in stop or id(fn) in seen:
            continue
        seen.add(id(fn))
        values.append(t)
        todo.extend(fn.parents)
    return values


def _formula(path: str, mod) -> str:
    """The layer's eval-mode formula in words, with its running statistics' values."""
    affine = f" · {path}.weight + {path}.bias" if getattr(mod, "weight", None) is not None else ""
    return (
        f"Layer {path} ({type(mod).__name__}) normalises each feature with the mean and "
        f"variance it kept in training, not the batch's: out = (x − {path}.running_mean) · "
        f"{path}.inv_std{affine}, where {path}.inv_std = 1/√({path}.running_var + ε), ε = "
        f"{mod.eps:g}. Here {path}.running_mean = {_values(mod.running_mean.array)} and "
        f"{path}.running_var = {_values(mod.running_var.array)}, so {path}.inv_std = "
        f"{_values(1.0 / np.sqrt(mod.running_var.array + mod.eps))}: constants, which the "
        f"gradient flows through (times {path}.inv_std) but never changes."
    )


def _values(a: np.ndarray, shown: int = 8) -> str:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    text = ", ".join(fmt(v, 6) for v in a[:shown])
    return f"[{text}{', …' if a.size > shown else ''}]"
