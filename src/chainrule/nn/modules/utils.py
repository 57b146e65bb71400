"""``torch.nn.modules.utils``' helpers that layer code imports: ``_single``, ``_pair``,
``_triple``, ``_quadruple`` (a number repeated into a tuple; an iterable made a tuple)."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import repeat

__all__ = ["_ntuple", "_pair", "_quadruple", "_single", "_triple"]


def _ntuple(n: int, name: str = "parse"):
    def parse(x):
        if isinstance(x, Iterable):
            return tuple(x)
        return tuple(repeat(x, n))

    parse.__name__ = name
    return parse


_single = _ntuple(1, "_single")
_pair = _ntuple(2, "_pair")
_triple = _ntuple(3, "_triple")
_quadruple = _ntuple(4, "_quadruple")
