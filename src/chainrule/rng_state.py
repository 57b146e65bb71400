"""``torch.get_rng_state`` / ``torch.set_rng_state`` for chainrule's default generator.

The state travels as a uint8 tensor (as PyTorch's does), so it goes into a ``torch.save``
checkpoint with the model and comes back out.
"""

from __future__ import annotations

from chainrule import random as _random
from chainrule.random import default_generator
from chainrule.tensor import Tensor


def _uint8_tensor(array):
    return Tensor._make(array, False)


_random.uint8_tensor = _uint8_tensor  # Generator.get_state's tensor (random cannot import it)


def get_rng_state():
    """The default generator's state as a uint8 tensor, as ``torch.get_rng_state`` returns.

    The bytes are the state as JSON (chainrule's generator is NumPy's PCG64, not PyTorch's
    Mersenne Twister, so the two libraries' states do not mix); a tensor, so that it goes into
    a ``torch.save`` checkpoint and back into :func:`set_rng_state`.
    """
    return default_generator.get_state()


def set_rng_state(new_state) -> None:
    """Restore the default generator from :func:`get_rng_state`'s tensor."""
    default_generator.set_state(new_state)
