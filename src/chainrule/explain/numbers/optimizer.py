"""The user's optimizer, for the update section: a copy of it over the float64 twin's
parameters, with its hyperparameters and its state (step count, momentum, moments), so the
step shown is the one ``optimizer.step()`` would take with the explained gradients."""

from __future__ import annotations

import copy
import re


def twin_factory(optimizer, model):
    """``make(twin_params: {name: tensor}) -> optimizer``: a copy of ``optimizer`` over the
    twin's parameters of the same names.

    Raises:
        TypeError: ``optimizer`` is not a chainrule optimizer.
        ValueError: it updates a tensor that is not one of ``model``'s parameters.
    """
    from chainrule.optim import Optimizer
    from chainrule.optim.optimizer import parameter_names_by_group

    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"explain(optimizer=...) takes a chainrule.optim optimizer built over the model's "
            f"parameters (optim.Adam(model.parameters(), ...)), got {type(optimizer).__name__}"
        )
    if type(optimizer).__name__ == "LBFGS":  # its step needs a closure and runs many of them
        raise TypeError(
            "explain(optimizer=...) shows one update from the explained gradients; LBFGS's "
            "step(closure) re-evaluates the loss many times, so it has no such update; "
            "explain with optim.SGD or optim.Adam instead"
        )
    groups = parameter_names_by_group(optimizer, model, "explain(optimizer=...)", "explained")
    # a snapshot: state_dict()'s entries are the optimizer's live state, as PyTorch's
    saved = copy.deepcopy(optimizer.state_dict())

    def make(twin_params: dict):
        copy = type(optimizer)([{"params": [twin_params[n] for n in g]} for g in groups])
        copy.load_state_dict(saved)  # hyperparameters and state, cast to float64
        return copy

    return make


def describe(optimizer) -> str:
    """``Adam(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0), after 2 steps of its
    own``: the class, the first group's hyperparameters (the flags PyTorch has for speed left
    out) and the steps its state counts."""
    group = optimizer.param_groups[0]
    skip = {"params", "foreach", "fused", "capturable", "differentiable", "initial_lr"}
    shown = ", ".join(f"{k}={v!r}" for k, v in group.items() if k not in skip and v is not None)
    more = ""
    if len(optimizer.param_groups) > 1:  # the first group's numbers alone would mislead
        differ = []
        for k, other in enumerate(optimizer.param_groups[1:], start=2):
            own = [f"{n}={v!r}" for n, v in other.items() if n not in skip and group.get(n) != v]
            differ.append(f"group {k}: {', '.join(own)}" if own else f"group {k}: the same")
        more = f"; {len(optimizer.param_groups)} groups, the first shown ({'; '.join(differ)})"
    steps = max((int(s.get("step", 0)) for s in optimizer.state.values()), default=0)
    taken = f", after {steps} step{'s' if steps != 1 else ''} of its own" if steps else ""
    if not steps and any(optimizer.state.values()):  # SGD's momentum counts no steps
        taken = ", with the state of its earlier steps"
    return f"{type(optimizer).__name__}({shown}){more}{taken}"


def rule(optimizer) -> list[str]:
    """The update rule its class's docstring writes out (the indented block after ``::``),
    line by line; empty where the docstring has none."""
    doc = type(optimizer).__doc__ or ""
    match = re.search(r"::\n\s*\n((?:[ \t]+\S[^\n]*\n)+)", doc)
    if not match:
        return []
    lines = match.group(1).rstrip("\n").split("\n")
    indent = min(len(line) - len(line.lstrip()) for line in lines)
    return [line[indent:].rstrip() for line in lines]
