"""Tied parameters (one Parameter held by two layers, as an embedding and its output layer
share a matrix) kept through save and load.

The file stores the state dict, which holds such a parameter once under each name, so a
model rebuilt from it would get two independent copies that training pulls apart. The ties
go into one metadata entry, ``{"later name": "first name"}``, and the loader makes the later
name refer to the first one's Parameter again. The entry is checked like the rest of the
header: names of parameters the architecture has, of one shape and dtype."""

from __future__ import annotations

import json

import numpy as np

from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt

KEY_TIED = "chainrule.tied_parameters"


def tied_names(model) -> dict[str, str]:
    """``{name: first name}`` for every parameter name after the first of a shared Parameter."""
    first: dict[int, str] = {}
    ties = {}
    for name, param in model.named_parameters(remove_duplicate=False):
        if id(param) in first:
            ties[name] = first[id(param)]
        else:
            first[id(param)] = name
    return ties


def entry(model) -> dict[str, str]:
    """The metadata entry for ``model``'s ties; empty when it has none."""
    ties = tied_names(model)
    return {KEY_TIED: json.dumps(ties, separators=(",", ":"))} if ties else {}


def retie(model, meta: dict, source: str) -> None:
    """Make the file's tied names share one Parameter again (weights already loaded)."""
    if KEY_TIED not in meta:
        return
    ties = fmt.parse_json(meta[KEY_TIED], source=source, what=f"metadata {KEY_TIED!r}",
                          max_depth=2, max_int_digits=20)  # fmt: skip
    if not isinstance(ties, dict) or not all(isinstance(v, str) for v in ties.values()):
        raise ModelFormatError(f"{source}: {KEY_TIED} must map parameter names to names")
    named = dict(model.named_parameters(remove_duplicate=False))
    for name, target in ties.items():
        if name not in named or target not in named or name == target:
            raise ModelFormatError(
                f"{source}: {KEY_TIED} ties {name!r} to {target!r}, which are not two "
                f"parameters of the architecture"
            )
        param, first = named[name], named[target]
        same = param.shape == first.shape and param.array.dtype == first.array.dtype
        if not same or not np.array_equal(param.array, first.array, equal_nan=True):
            raise ModelFormatError(
                f"{source}: {KEY_TIED} ties {name!r} to {target!r}, but the file holds "
                f"different values for them"
            )
        owner_path, _, attr = name.rpartition(".")
        owner = model.get_submodule(owner_path) if owner_path else model
        setattr(owner, attr, first)
