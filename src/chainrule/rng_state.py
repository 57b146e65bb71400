"""``torch.get_rng_state`` / ``torch.set_rng_state`` for chainrule's default generator.

The state travels as a uint8 tensor (as PyTorch's does), so it goes into a ``torch.save``
checkpoint with the model and comes back out.
"""

from __future__ import annotations

import json

import numpy as np

from chainrule.random import default_generator
from chainrule.tensor import Tensor


def get_rng_state():
    """The default generator's state as a uint8 tensor, as ``torch.get_rng_state`` returns.

    The bytes are the state as JSON (chainrule's generator is NumPy's PCG64, not PyTorch's
    Mersenne Twister, so the two libraries' states do not mix); a tensor, so that it goes into
    a ``torch.save`` checkpoint and back into :func:`set_rng_state`.
    """
    text = json.dumps(default_generator.get_state()).encode()
    return Tensor._make(np.frombuffer(text, dtype=np.uint8).copy(), False)


def set_rng_state(new_state) -> None:
    """Restore the default generator from :func:`get_rng_state`'s tensor."""
    array = np.asarray(getattr(new_state, "array", new_state))
    if array.dtype != np.uint8 or array.ndim != 1:
        raise TypeError(
            f"set_rng_state expects the uint8 tensor from cr.get_rng_state(), got "
            f"{array.dtype} of shape {array.shape}"
        )
    try:
        state = json.loads(array.tobytes().decode())
        default_generator.set_state(state)
    except (ValueError, KeyError, TypeError) as err:
        raise ValueError(
            "set_rng_state: these bytes are not a chainrule generator state (a state from "
            "PyTorch's torch.get_rng_state() cannot be used: the generators differ)"
        ) from err
