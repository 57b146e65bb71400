"""Seeded random number generation: every random draw in chainrule flows through a Generator."""

from __future__ import annotations

import json

import numpy as np


def uint8_tensor(array: np.ndarray):
    """Wraps a state's bytes as a Tensor; ``chainrule.rng_state`` puts the real function here,
    since the tensor module imports this one and this one may not import it back (an import
    circle, tests/test_architecture.py)."""
    raise RuntimeError("import chainrule before asking a Generator for its state")


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

    def get_state(self):
        """The state as a uint8 tensor, as PyTorch's ``Generator.get_state`` returns, so that it
        goes into a ``cr.save`` checkpoint and back into :meth:`set_state`.

        The bytes are :meth:`state_as_dict` as JSON: the generator is NumPy's PCG64, not
        PyTorch's Mersenne Twister, so the two libraries' states do not mix.
        """
        text = json.dumps(self.state_as_dict()).encode()
        return uint8_tensor(np.frombuffer(text, dtype=np.uint8).copy())

    def state_as_dict(self) -> dict:
        """The full state as plain JSON-serialisable data (what loaders and backups record)."""
        return {"seed": self._seed, "bit_generator": self.numpy.bit_generator.state}

    def set_state(self, new_state) -> None:
        """Restore the state :meth:`get_state` returned (a uint8 tensor)."""
        if isinstance(new_state, dict):
            raise TypeError(
                "set_state expects the uint8 tensor from get_state(), got dict; a dict from "
                "state_as_dict() goes to set_state_from_dict()"
            )
        self.set_state_from_dict(_state_from_bytes(new_state))

    def set_state_from_dict(self, state: dict) -> None:
        """Restore the state :meth:`state_as_dict` returned."""
        self._seed = state.get("seed")
        self.numpy = np.random.default_rng()
        self.numpy.bit_generator.state = state["bit_generator"]


def _state_from_bytes(new_state) -> dict:
    array = np.asarray(getattr(new_state, "array", new_state))
    if array.dtype != np.uint8 or array.ndim != 1:
        raise TypeError(
            f"set_state expects the uint8 tensor from get_state() (or cr.get_rng_state()), "
            f"got {array.dtype} of shape {array.shape}"
        )
    try:
        state = json.loads(array.tobytes().decode())
        if not isinstance(state, dict) or "bit_generator" not in state:
            raise ValueError(state)
        return state
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(
            "set_state: these bytes are not a chainrule generator state (a state from "
            "PyTorch's get_state() or get_rng_state() cannot be used: the generators differ)"
        ) from err


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
