"""``clamp_min`` and ``clamp_max``: a clamp with one bound, under PyTorch's own names.

The work is :class:`~chainrule.ops.elementwise.Clip`'s (a number bound) and
:class:`~chainrule.ops.elementwise.ClampBounds`'s (a tensor bound); these subclasses only carry
the names PyTorch gives the call forms (``ClampMinBackward0`` for a number,
``ClampMinBackward1`` for a tensor), so they cost nothing.
"""

from __future__ import annotations

from chainrule.ops.elementwise import ClampBounds, Clip, clamp_by
from chainrule.tensor import Tensor


class ClampMin(Clip):
    """max(x, min) for a number ``min``: PyTorch's ``ClampMinBackward0``."""

    label = "clamp_min"


class ClampMax(Clip):
    """min(x, max) for a number ``max``: PyTorch's ``ClampMaxBackward0``."""

    label = "clamp_max"


class ClampMinTensor(ClampBounds):
    """max(x, min) for a tensor ``min``: PyTorch's ``ClampMinBackward1``."""

    label = "clamp_min"


class ClampMaxTensor(ClampBounds):
    """min(x, max) for a tensor ``max``: PyTorch's ``ClampMaxBackward1``."""

    label = "clamp_max"


def _bound(name: str, bound):
    if bound is None:
        raise TypeError(
            f"{name}() needs a bound (a number or a tensor), got None, as in PyTorch; "
            f"clamp(x, min=..., max=...) takes either bound as optional"
        )
    return bound


def clamp_min(input, min) -> Tensor:  # noqa: A002 - PyTorch's names
    """max(input, min), as ``torch.clamp_min``; ``min`` a number or a tensor (broadcast).

    The gradient passes to ``input`` where input ≥ min, and to a tensor ``min`` where
    input < min; dtypes promote as in ``clamp``.

    Example:
        >>> import chainrule as cr
        >>> cr.clamp_min(cr.tensor([-1.0, 0.5, 2.0]), 0.0).tolist()
        [0.0, 0.5, 2.0]
    """
    return clamp_by(input, _bound("clamp_min", min), None, ClampMin, ClampMinTensor)


def clamp_max(input, max) -> Tensor:  # noqa: A002
    """min(input, max), as ``torch.clamp_max``; ``max`` a number or a tensor (broadcast).

    Example:
        >>> import chainrule as cr
        >>> cr.clamp_max(cr.tensor([-1.0, 0.5, 2.0]), 1.0).tolist()
        [-1.0, 0.5, 1.0]
    """
    return clamp_by(input, None, _bound("clamp_max", max), ClampMax, ClampMaxTensor)
