"""What every section writer shares: numbers as tokens at the context's precision, and the
data model's arrays looked up by the names the writers print."""

from __future__ import annotations

import re

import numpy as np

from chainrule.explain.blocks import Num
from chainrule.explain.format import fmt


class Style:
    """Numbers at ``decimals`` places: ``num`` for a result, ``arg`` for an operand (negative
    ones in parentheses), ``fmt`` as plain text."""

    def __init__(self, decimals: int = 9):
        self.decimals = decimals

    def num(self, v, paren: bool = False) -> Num:
        return Num(float(v), self.decimals, paren)

    def arg(self, v) -> Num:
        return Num(float(v), self.decimals, True)

    def fmt(self, v) -> str:
        return fmt(v, self.decimals)


def split_constants(formula: str) -> tuple[str, str | None]:
    """``"2·(o − t)/n, n = 6, δ = 0.5"`` → ``("2·(o − t)/n", "n = 6, δ = 0.5")``: the counts and
    constants go after the value (``= 0.04   (n = 6)``), so ``n = 6 = 0.04`` never reads as one."""
    match = re.fullmatch(r"(.*?)((?:, [^,=()]+ = [-0-9.e+inf]+)+)?", formula)
    head, tail = match.groups()
    return head, tail[2:] if tail else None


def values(expl, scene, t) -> np.ndarray:
    """The values of parameter tensor ``t`` (as the data model holds them), flat."""
    param = expl.parameter(scene.naming.tensor(t))
    return np.asarray(param.values, dtype=np.float64).reshape(-1)


def layer_input(expl, index: int) -> np.ndarray:
    """The input of layer ``index`` (1-based): x for the first, the activations a before it."""
    if index == 1:
        return np.asarray(expl.forward.input)
    return np.asarray(expl.forward.layers[index - 2].a)


def delta_symbol(naming, z_name: str) -> str:
    """δ of a neuron: ``δ_h1`` with classic names, ``δ(z1[0])`` otherwise."""
    return ("δ_" + z_name.replace("net_", "")) if naming.classic else f"δ({z_name})"


_WORDS_A_READER_CAN_EVALUATE = {"ln", "sign"}
_LETTER = re.compile(r"(?<![A-Za-z_])([A-Za-z])(?![A-Za-z_\[])")


def with_numbers(expr: str, values: dict) -> list | None:
    """``expr``'s tokens with each one-letter name replaced by its number (``values``: letter
    -> Num or text), so a reader can redo the arithmetic; None where ``expr`` names something
    not in ``values`` or a function the report does not define (huber, softmax, clip)."""
    words = re.findall(r"[A-Za-z_]{2,}", expr)
    if any(w not in _WORDS_A_READER_CAN_EVALUATE for w in words):
        return None
    if not set(_LETTER.findall(expr)) <= values.keys():
        return None
    tokens: list = []
    for i, part in enumerate(_LETTER.split(expr)):
        if i % 2:
            tokens.append(values[part])
        elif part:
            tokens.append(part)
    return tokens
