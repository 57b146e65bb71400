"""The values inside a layer, named after it. A normalisation layer computes x̂ = (x − mean) /
√(var + eps) op by op; unnamed, a factor read ``1/b  (b = v10[0, 0])``: named ``ln.mean``,
``ln.centred``, ``ln.var``, ``ln.eps``, ``ln.std`` and ``ln.x_hat``, it reads ``1/b  (b =
ln.std[0, 0])``. Attention's query, key and value, its scale 1/√d, scores and weights are
named the same way (:mod:`.attention_nodes`)."""

from __future__ import annotations

import contextlib

from chainrule.explain.numbers.attention_nodes import attention_parts
from chainrule.explain.numbers.running_stats import own_values
from chainrule.tensor import Tensor


@contextlib.contextmanager
def inner_names(model):
    """While active, each normalisation or attention layer of ``model`` records id(tensor) ->
    name for the values inside it; yields that dict."""
    names: dict[int, str] = {}
    modules = list(model.named_modules()) if hasattr(model, "named_modules") else []
    handles = [
        module.register_forward_hook(_namer(path, names, parts))
        for path, module in modules
        if path
        and hasattr(module, "register_forward_hook")
        and (parts := _finder(type(module).__name__)) is not None
    ]
    for path, module in modules:
        if type(module).__name__ in _RECURRENT and hasattr(module, "register_forward_hook"):
            handles += _step_namer(path or "rnn", module, names)
    try:
        yield names
    finally:
        for handle in handles:
            handle.remove()


_RECURRENT = ("RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell")


def _step_namer(path: str, module, names: dict) -> list:
    """Hooks that name a recurrent layer's gates, c and h at each step (``rnn.t2.i``): the
    op-by-op steps note them (``ops/recurrent_graph.PARTS``) while the layer runs."""
    from chainrule.ops import recurrent_graph

    outer: list = []

    def before(module, args):
        outer.append(recurrent_graph.PARTS[0])
        recurrent_graph.PARTS[0] = recurrent_graph.StepParts()

    def after(module, args, output):
        found = recurrent_graph.PARTS[0].found
        recurrent_graph.PARTS[0] = outer.pop()
        for t, name in found:
            names.setdefault(id(t), f"{path}.{name}")  # a cell called again: named once

    return [module.register_forward_pre_hook(before), module.register_forward_hook(after)]


def _finder(kind: str):
    if "Norm" in kind:
        return norm_parts
    return attention_parts if kind == "MultiheadAttention" else None


def _namer(path: str, names: dict, parts):
    def hook(module, args, output):
        first = output[0] if isinstance(output, tuple) and output else output
        if isinstance(first, Tensor):
            for t, part in parts(own_values(first, args)):
                names.setdefault(id(t), f"{path}.{part}")  # a layer called twice: named once

    return hook


def norm_parts(values: list) -> list:
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
