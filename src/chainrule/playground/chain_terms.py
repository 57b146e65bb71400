"""How the page typesets one factor of a chain-rule path: the two sides of ∂top/∂bottom, and
the neuron or edge of the network drawing the factor belongs to."""

from __future__ import annotations

import re

__all__ = ["factor_target", "term"]

_NODE = re.compile(r"^([za])(\d+)\[(\d+)\]$")
_PARAM = re.compile(r"^(\d+)\.(weight|bias)\[([\d, ]+)\]$")


def term(name: str, layer_of: dict) -> dict:
    """One side of a factor ∂top/∂bottom as parts the page typesets: ``E``, ``z``/``a`` of
    layer L neuron j, or a weight ``w`` / bias ``b`` of layer L."""
    m = _NODE.match(name)
    if m:
        return {"sym": m[1], "layer": int(m[2]), "index": [int(m[3])], "text": name}
    m = _PARAM.match(name)
    if m and f"{m[1]}.{m[2]}" in layer_of:
        index = [int(k) for k in m[3].split(",")]
        sym = "w" if m[2] == "weight" else "b"
        return {"sym": sym, "layer": layer_of[f"{m[1]}.{m[2]}"], "index": index, "text": name}
    return {"sym": name, "layer": None, "index": [], "text": name}


def factor_target(top: dict, bottom: dict) -> dict | None:
    """The edge or neuron of the network drawing a factor belongs to (layer 0 is the inputs):
    ∂E/∂z and ∂a/∂z are a neuron's, ∂z/∂a and ∂z/∂w an edge's, ∂z/∂b a neuron's."""
    if top["sym"] == "E" and bottom["sym"] == "z":
        return {"kind": "neuron", "layer": bottom["layer"], "index": bottom["index"][0]}
    if top["sym"] == "a" and bottom["sym"] == "z":
        return {"kind": "neuron", "layer": top["layer"], "index": top["index"][0]}
    if top["sym"] == "z" and bottom["sym"] == "a":
        j, i = top["index"][0], bottom["index"][0]
        return {"kind": "edge", "layer": top["layer"], "from": i, "to": j}
    if top["sym"] == "z" and bottom["sym"] == "w":
        j, i = bottom["index"]
        return {"kind": "edge", "layer": top["layer"], "from": i, "to": j}
    if top["sym"] == "z" and bottom["sym"] == "b":
        return {"kind": "neuron", "layer": top["layer"], "index": top["index"][0]}
    return None
