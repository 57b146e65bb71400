"""The title and the opening paragraph: what network or expression is explained, and how."""

from __future__ import annotations

from chainrule.explain.blocks import Heading, Para


def write(expl, scene, style) -> list:
    return [Heading(1, expl.title), Para(_intro(expl, scene)), *(Para(n) for n in expl.notes)]


def _intro(expl, scene) -> str:
    if scene.layers:
        shape = " → ".join(
            [str(scene.layers[0].fan_in)]
            + [f"{layer.width} ({layer.act_label})" for layer in scene.layers]
        )
        batch = expl.batch_size
        return (
            f"Network {shape}; {batch} sample{'s' if batch > 1 else ''}; "
            f"computed in float64 by the chainrule engine on a copy of the model. Every "
            f"local derivative below is the engine's own (each op's backward)."
        )
    if scene.x is not None:  # a model explained op by op (a CNN): say how many samples
        batch = expl.batch_size
        return (
            f"A network of {len(scene.graph.ops)} ops, explained op by op; {batch} "
            f"sample{'s' if batch > 1 else ''}; computed in float64 by the chainrule engine on a "
            f"copy of the model. Every local derivative below is the engine's own (each op's "
            f"backward)."
        )
    return (
        f"An expression of {len(scene.graph.ops)} ops, computed in float64 by the chainrule "
        f"engine. Every local derivative below is the engine's own (each op's backward)."
    )
