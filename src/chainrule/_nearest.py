"""The hint in a NotSupportedError for a PyTorch name chainrule lacks: the closest names
chainrule has (``difflib``), or "no close equivalent in chainrule"."""

from __future__ import annotations

import difflib


def closest(name: str, have, home: str) -> str:
    """Up to three of ``have`` (public names of ``home``) spelled most like ``name``."""
    public = [n for n in have if not n.startswith("_")]
    close = difflib.get_close_matches(name, public, n=3, cutoff=0.7)
    if not close:
        return "no close equivalent in chainrule"
    return " or ".join(f"{home}.{n}" for n in close)


def message(qualified: str, hint: str) -> str:
    return f"{qualified} is not supported by chainrule; nearest: {hint} (docs/pytorch.md)"
