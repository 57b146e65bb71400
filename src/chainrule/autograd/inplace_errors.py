"""The error of an in-place write NumPy refused with a ValueError: a shape that does not
broadcast to the tensor's, or a tensor whose memory is read-only. The latter is a broadcast
view (``expand``, ``broadcast_to``), where several elements share one memory location:
PyTorch refuses most writes there too and asks for ``clone()``."""

from __future__ import annotations

import numpy as np

from chainrule.errors import ShapeError


def write_refused(op: str, array: np.ndarray, shapes, err: ValueError) -> ShapeError:
    """The ShapeError for ``op`` writing values of ``shapes`` into ``array``."""
    if not array.flags.writeable:
        return ShapeError(
            f"{op}: the tensor is a broadcast view (expand, broadcast_to, expand_as): more than "
            f"one element refers to a single memory location, so it cannot be written in "
            f"place; clone() it first (as PyTorch asks)"
        )
    return ShapeError(
        f"{op}: operand shape(s) {list(shapes)} do not broadcast to the tensor's shape "
        f"{array.shape} ({err})"
    )
