"""Frozen parameters (``requires_grad=False``, as when fine-tuning only a model's head) kept
through save and load, as ``torch.save(model)`` keeps them.

A safetensors file holds numbers only, so without a note every parameter would come back
trainable, and resumed training would silently update the layers that were frozen. The
names go into one metadata entry, a JSON list, checked on load like the rest of the header."""

from __future__ import annotations

import json

from chainrule.errors import ModelFormatError
from chainrule.io import format as fmt

KEY_FROZEN = "chainrule.frozen_parameters"


def entry(model) -> dict[str, str]:
    """The metadata entry naming ``model``'s frozen parameters; empty when none is frozen."""
    names = [name for name, p in model.named_parameters() if not p.requires_grad]
    return {KEY_FROZEN: json.dumps(names, separators=(",", ":"))} if names else {}


def refreeze(model, meta: dict, source: str) -> None:
    """Turn off ``requires_grad`` for the parameters the file names as frozen."""
    if KEY_FROZEN not in meta:
        return
    names = fmt.parse_json(meta[KEY_FROZEN], source=source, what=f"metadata {KEY_FROZEN!r}",
                           max_depth=2, max_int_digits=20)  # fmt: skip
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ModelFormatError(f"{source}: {KEY_FROZEN} must be a list of parameter names")
    named = dict(model.named_parameters(remove_duplicate=False))
    unknown = [n for n in names if n not in named]
    if unknown:
        raise ModelFormatError(
            f"{source}: {KEY_FROZEN} names {unknown[:3]}, which are not parameters of the "
            f"architecture"
        )
    for name in names:
        named[name].requires_grad = False
