"""Dropout: randomly zero activations while training, so no unit can rely on another."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.compile_hooks import per_call
from chainrule.nn.activation import in_place
from chainrule.nn.module import Module
from chainrule.ops._util import operand
from chainrule.random import Generator, get_generator


class Dropout(Module):
    """Zero each element with probability ``p`` in training and scale the rest by 1/(1 − p).

    In evaluation mode (``model.eval()``) it returns its input unchanged, so the expected value
    of every activation is the same in both modes. The mask comes from ``generator`` (default:
    the global seeded generator), so ``cr.manual_seed`` makes it reproducible.

    Args:
        p: probability of zeroing an element, in [0, 1].
        inplace: write the result into the input where nothing is recorded for backward
            (see ``nn/activation.py``).
        generator: a :class:`chainrule.Generator` for the masks.

    Shape: any → same.
    """

    _config_args = ("p", "inplace")

    def __init__(self, p: float = 0.5, inplace: bool = False, generator: Generator | None = None):
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.inplace = bool(inplace)
        self.generator = generator

    def forward(self, x):
        x = operand(x)
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return in_place(x * np.zeros(x.shape, dtype=x.dtype), x, self.inplace)
        # Drawn through per_call, so a compiled step draws a fresh mask on every call too.
        mask = per_call(keep_mask, self.generator, x.shape, self.p, x.dtype)
        return in_place(x * mask, x, self.inplace)  # a constant mask: its gradient is the mask

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


def keep_mask(generator: Generator | None, shape: tuple, p: float, dtype) -> np.ndarray:
    """A dropout mask: 1/(1 − p) where an element is kept (probability 1 − p), else 0."""
    keep = get_generator(generator).random(shape) >= p
    return keep * np.asarray(1.0 / (1.0 - p), dtype=dtype)
