"""The section writers: each turns its part of the data model (:mod:`chainrule.explain.datamodel`)
into blocks (headings, paragraphs, equations, tables) that the format backends print.

Writers read every number from the data model; from the :class:`~chainrule.explain.numbers.Scene`
they take only names (``scene.naming``) and the network's structure (its layers' widths and
activations), never a tensor's values.
"""

from __future__ import annotations

from chainrule.explain.sections import backward, chains, forward, graph, intro, loss, update
from chainrule.explain.sections.style import Style

__all__ = ["write", "write_trace"]


def write(expl, scene, ctx) -> list:
    """Every block of an explanation, section by section."""
    style = Style(ctx.decimals)
    return [
        *intro.write(expl, scene, style),
        *forward.write(expl, scene, style),
        *loss.write(expl, scene, style),
        *backward.write(expl, scene, style, ctx.loss_derivative),
        *chains.write(expl, scene, style),
        *update.write(expl, scene, style),
        *graph.write(expl, scene, style),
    ]


def write_trace(trace, root_name: str) -> list:
    return graph.write_trace(trace, root_name)
