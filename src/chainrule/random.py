"""Seeded random number generation: every random draw in chainrule flows through a Generator."""

from __future__ import annotations

import numpy as np


class Generator:
    """A seeded source of random numbers (wraps ``numpy.random.Generator``).

    Args:
        seed: any integer; the same seed gives the same sequence on every run.

    Example:
        >>> g = Generator(0)
        >>> g.manual_seed(1) is g
        True
    """

    def __init__(self, seed: int | None = 0):
        self.manual_seed(seed)

    def manual_seed(self, seed: int | None) -> Generator:
        """Restart the sequence from ``seed``; returns the generator."""
        self._seed = seed
        self.numpy = np.random.default_rng(seed)
        return self

    def initial_seed(self) -> int | None:
        return self._seed

    def get_state(self) -> dict:
        """The full state, JSON-serialisable, for exact resume."""
        return {"seed": self._seed, "bit_generator": self.numpy.bit_generator.state}

    def set_state(self, state: dict) -> None:
        self._seed = state.get("seed")
        self.numpy = np.random.default_rng()
        self.numpy.bit_generator.state = state["bit_generator"]


default_generator = Generator(0)


def manual_seed(seed: int) -> Generator:
    """Seed the default generator used by initialisers, dropout and shuffling; returns it."""
    return default_generator.manual_seed(seed)


def get_generator(generator: Generator | None = None) -> np.random.Generator:
    """The NumPy generator to draw from: ``generator``'s, or the default one."""
    return (generator or default_generator).numpy


def initial_seed() -> int | None:
    """The seed the default generator was last seeded with (PyTorch's ``torch.initial_seed``)."""
    return default_generator.initial_seed()


def seed() -> int:
    """Seed the default generator from fresh OS entropy and return that seed (``torch.seed``)."""
    new_seed = int(np.random.SeedSequence().entropy % (1 << 63))
    default_generator.manual_seed(new_seed)
    return new_seed
