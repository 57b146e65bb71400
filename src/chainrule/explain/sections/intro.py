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
    return (
        f"An expression of {len(scene.graph.ops)} ops, computed in float64 by the chainrule "
        f"engine. Every local derivative below is the engine's own (each op's backward)."
    )
