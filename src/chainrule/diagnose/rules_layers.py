"""Diagnosis rules that read per-layer gradients and activations: exploding and vanishing
gradients, dead ReLU units and saturated sigmoid/tanh layers."""

from __future__ import annotations

import math

from chainrule.diagnose.finding import Finding
from chainrule.diagnose.run_view import RunView, num, pct
from chainrule.diagnose.thresholds import (
    DEAD_FRACTION,
    EXPLODING_NORM,
    GRADIENT_RATIO,
    LEARNED,
    SATURATED_FRACTION,
)

__all__ = ["dead_relu", "exploding", "saturated", "vanishing"]


def exploding(run: RunView) -> Finding | None:
    weights = run.weights()
    norms = {n: run.late(run.rec.get("grad_norm", {}).get(n, [])) for n in run.params}
    norms = {n: v for n, v in norms.items() if math.isfinite(v)}
    if not norms:
        return None
    name, top = max(norms.items(), key=lambda kv: kv[1])
    spread = None
    if len(weights) >= 2:
        first, last = run.grad_rms(weights[0]), run.grad_rms(weights[-1])
        if last > 0 and math.isfinite(first) and first / last >= GRADIENT_RATIO:
            spread = first / last
    if top <= EXPLODING_NORM and spread is None:
        return None
    if spread is not None:
        sentence = (
            f"Gradients explode on their way back: the first layer's ({weights[0]}) are "
            f"{num(spread)}x larger than the last layer's ({weights[-1]}) per weight, and the "
            f"largest gradient norm is {num(top)} ({name})."
        )
    else:
        sentence = (
            f"Gradients explode: the gradient norm of {name} is {num(top)} (above "
            f"{num(EXPLODING_NORM)}), so each step throws the weights around."
        )
    return Finding(
        "EXPLODING_GRADIENTS",
        "warning",
        sentence,
        "Initialise with smaller weights (Kaiming/He for ReLU: std = sqrt(2/fan_in); "
        "Xavier for tanh), lower the learning rate, clip gradients, or add normalisation.",
        {"max_grad_norm": top, "param": name, "first_to_last": spread},
    )


def dead_relu(run: RunView) -> Finding | None:
    worst = None
    for name, stats in (run.rec.get("activations") or {}).items():
        if stats.get("kind") != "relu":
            continue
        dead = run.late(stats.get("dead", []))
        if math.isfinite(dead) and dead >= DEAD_FRACTION and (worst is None or dead > worst[1]):
            worst = (name, dead, stats.get("layer", "ReLU"))
    if worst is None:
        return None
    name, dead, layer = worst
    # the first record: the first quarter's median would already count units that a too
    # large learning rate killed in the first epochs
    at_start = run.first(run.rec["activations"][name].get("dead", []))
    sentence = (
        f"{pct(dead)} of the units of layer {name} ({layer}) never fire on a batch: their "
        f"input z is negative for every sample, so relu'(z) = 0 and no gradient reaches the "
        f"weights before them. They have stopped learning."
    ) + _shared_note(run.rec["activations"][name])
    if math.isfinite(at_start) and at_start < DEAD_FRACTION:
        # alive at the start: the steps killed them, and the initialisation is not the cause
        lr = run.lr()
        sentence += (
            f" They died during training ({pct(at_start)} were dead in the first record): "
            f"steps too large pushed their weighted sums below zero for every input."
        )
        fix = (
            f"Lower the learning rate{f' (lr {num(lr)})' if lr else ''} by 10x, standardise "
            f"the inputs, or use LeakyReLU/ELU, whose slope for z < 0 is not 0."
        )
    else:
        fix = (
            "Initialise biases at 0 (not negative) with Kaiming/He weights, standardise the "
            "inputs, or use LeakyReLU/ELU, whose slope for z < 0 is not 0."
        )
    return Finding(
        "DEAD_RELU",
        "warning",
        sentence,
        fix,
        {"layer": name, "dead_fraction": dead, "dead_at_start": at_start, **_calls(name, run)},
    )


def _calls(name: str, run: RunView) -> dict:
    calls = int(run.rec["activations"][name].get("calls", 1))
    return {"calls": calls} if calls > 1 else {}


def _shared_note(stats: dict) -> str:
    """For one activation module called at several places of the forward pass: the recorder
    kept its last call's outputs, so the numbers are that call's, not the first's."""
    calls = int(stats.get("calls", 1))
    if calls <= 1:
        return ""
    return (
        f" (This one module is called {calls} times in each forward pass; the numbers are "
        f"those of its last call. Give each place its own module to see each one.)"
    )


def saturated(run: RunView) -> Finding | None:
    # Saturated from the start (large weights or inputs) blocks learning; saturation reached
    # by a run that learned well is confidence on separable data, not a problem.
    ends = run.start_end()
    learned = ends is not None and ends[0] > 0 and (ends[0] - ends[1]) / ends[0] >= LEARNED
    worst = None
    for name, stats in (run.rec.get("activations") or {}).items():
        if stats.get("kind") not in ("sigmoid", "tanh"):
            continue
        series = stats.get("saturated", [])
        share = run.early(series)
        if not learned:
            share = max(share, run.late(series))
        if math.isfinite(share) and share >= SATURATED_FRACTION:
            if worst is None or share > worst[1]:
                worst = (name, share, stats["kind"], stats.get("layer", ""))
    if worst is None:
        return None
    name, share, kind, layer = worst
    where = "within 0.01 of 0 or 1" if kind == "sigmoid" else "within 0.01 of -1 or 1"
    slope = "σ'(z) < 0.01" if kind == "sigmoid" else "tanh'(z) < 0.02"
    output = bool(run.rec["activations"][name].get("output"))
    if output and kind == "sigmoid":  # ReLU "in hidden layers" is no fix for the output
        fix = (
            "This is the model's output layer: leave out the final Sigmoid and train the raw "
            "scores with BCEWithLogitsLoss (its gradient σ(z) − t does not vanish when σ "
            "saturates; apply sigmoid for predictions), and lower the learning rate."
        )
    elif output:
        fix = (
            "This is the model's output layer: leave out the final Tanh (a linear output, "
            "targets scaled to about ±1 if needed), and lower the learning rate."
        )
    else:
        fix = (
            "Standardise the inputs and initialise with smaller weights (Xavier/Glorot: "
            "std = 1/sqrt(fan_in)), or use ReLU in hidden layers."
        )
    sentence = (
        f"{pct(share)} of the outputs of layer {name} ({layer}{', the output' if output else ''})"
        f" are saturated ({where}), where {slope}: the gradient through them almost vanishes."
    ) + _shared_note(run.rec["activations"][name])
    at_start = run.first(run.rec["activations"][name].get("saturated", []))
    if math.isfinite(at_start) and at_start < SATURATED_FRACTION:
        # not saturated at the first record: the steps grew the weights, not the inputs or init
        lr = run.lr()
        sentence += (
            f" They saturated during training ({pct(at_start)} at the first record): steps "
            f"too large grew the weights until the units saturated."
        )
        fix = (
            f"Lower the learning rate{f' (lr {num(lr)})' if lr else ''} by 10x"
            + (
                ", and train the raw scores with BCEWithLogitsLoss"
                if output and kind == "sigmoid"
                else ""
            )
            + "; add weight decay if they saturate again."
        )
    return Finding(
        "SATURATED",
        "warning",
        sentence,
        fix,
        {
            "layer": name,
            "saturated_fraction": share,
            "activation": kind,
            "output": output,
            "saturated_at_start": at_start,
            **_calls(name, run),
        },
    )


def vanishing(run: RunView) -> Finding | None:
    weights = run.weights()
    if len(weights) < 2:
        return None
    first, last = run.grad_rms(weights[0]), run.grad_rms(weights[-1])
    if not (math.isfinite(first) and math.isfinite(last)) or last <= 0:
        return None
    if first > 0 and last / first < GRADIENT_RATIO:
        return None
    ratio = last / first if first > 0 else math.inf
    how = (
        f"gradients {num(ratio)}x smaller than the last layer's ({weights[-1]}) — RMS "
        f"{num(first)} vs {num(last)} per weight"
        if first > 0
        else f"no gradient at all, while the last layer's ({weights[-1]}) have RMS {num(last)}"
    )
    return Finding(
        "VANISHING_GRADIENTS",
        "warning",
        f"Gradients vanish on their way back: the first layer's weights ({weights[0]}) get "
        f"{how}, so the early layers barely learn.",
        _vanishing_fix(run),
        {
            "first": weights[0],
            "last": weights[-1],
            "first_rms": first,
            "last_rms": last,
            "ratio": ratio,
        },
    )


def _vanishing_fix(run: RunView) -> str:
    """The fix for the hidden activations the model has: "use ReLU instead of sigmoid" is no
    advice for a network of tanh or ReLU units."""
    hidden = {
        stats.get("kind")
        for stats in (run.rec.get("activations") or {}).values()
        if not stats.get("output")
    }
    rest = "fewer layers, or normalisation (BatchNorm/LayerNorm) between layers."
    if "sigmoid" in hidden:
        return (
            "Use ReLU (or tanh) instead of sigmoid in hidden layers, fewer layers, "
            "Kaiming/Xavier initialisation, or normalisation (BatchNorm/LayerNorm) between layers."
        )
    if "tanh" in hidden:
        return (
            "Standardise the inputs and initialise with Xavier/Glorot weights (std = "
            f"1/sqrt(fan_in)) so that the tanh units do not saturate, use ReLU, {rest}"
        )
    if "relu" in hidden:
        return (
            "Initialise with Kaiming/He weights (std = sqrt(2/fan_in)), check for dead ReLU "
            f"units (LeakyReLU keeps a slope for z < 0), {rest}"
        )
    return f"Use Kaiming/Xavier initialisation, {rest}"
