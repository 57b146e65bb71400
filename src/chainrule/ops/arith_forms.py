"""PyTorch's call forms of plain arithmetic: ``alpha=`` of ``add``/``sub``, ``torch.rsub``
(``other − alpha·input``) and ``torch.square``.

PyTorch checks ``alpha`` against the result's dtype (a float ``alpha`` cannot scale an integer
result, a bool ``alpha`` only a bool one); :func:`check_alpha` raises where it does, so an
integer sum is never silently a float one.
"""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.errors import DTypeError
from chainrule.ops._util import operand, operands
from chainrule.ops.elementwise import Sub, _binary
from chainrule.ops.math import reflected_sub, scaled
from chainrule.ops.power import pow
from chainrule.tensor import Tensor


def _kind(value) -> str:
    return value.array.dtype.kind if isinstance(value, Tensor) else np.asarray(value).dtype.kind


def check_alpha(a, b, alpha) -> None:
    """Raise as PyTorch's ``alpha_check`` where ``alpha`` does not fit the dtype of ``a ∘ b``."""
    kinds = (_kind(a), _kind(b))
    if isinstance(alpha, (bool, np.bool_)) and kinds != ("b", "b"):
        raise DTypeError("Boolean alpha only supported for Boolean results.")
    if all(k in "biu" for k in kinds) and _kind(alpha) not in "biu":
        raise DTypeError(
            "For integral input tensors, argument alpha must not be a floating point number."
        )


def alpha_times(base, x, alpha, *, subtract: bool = False):
    """``alpha·x`` for ``base ± alpha·x`` (the ``alpha=`` of add, sub and rsub), computed in
    the dtype of ``base ∘ x`` as PyTorch does: ``x``'s own dtype would wrap a uint8 product
    (255·2 = 254) or widen an int32 result by a bool. ``x`` itself where ``alpha`` is 1."""
    if subtract:
        _dtype.refuse_bool_sub(base, x)  # before the product hides the bool
    if alpha == 1:
        return x
    _, x = operands(base, x)
    if x.array.dtype == np.bool_:  # a bool result: PyTorch takes alpha as a bool there
        return x if alpha else x & False
    return scaled(x, alpha)


class RSubTensor(Sub):
    """``torch.rsub(x, y)`` = y − x for a tensor ``y``: PyTorch's ``RsubBackward0``."""


def rsub(input, other, *, alpha=1) -> Tensor:  # noqa: A002 - PyTorch's names
    """``other − alpha·input``, as ``torch.rsub`` (``sub`` with its operands swapped).

    Example:
        >>> import chainrule as cr
        >>> cr.rsub(cr.tensor([1.0, 2.0]), 5.0, alpha=2).tolist()
        [3.0, 1.0]
    """
    check_alpha(input, other, alpha)
    scaled_input = alpha_times(other, input, alpha, subtract=True)
    if isinstance(other, Tensor):
        _dtype.refuse_bool_sub(other, scaled_input)
        return _binary(RSubTensor, other, scaled_input)
    if not isinstance(scaled_input, Tensor):
        raise DTypeError(f"rsub() needs a tensor input, got {type(input).__name__}")
    return reflected_sub(scaled_input, other)


def square(input) -> Tensor:  # noqa: A002
    """input², as ``torch.square``: ``input ** 2`` (PyTorch's ``PowBackward0``; bools square
    to int64, integers stay integers).

    Example:
        >>> import chainrule as cr
        >>> cr.square(cr.tensor([-1.5, 2.0])).tolist()
        [2.25, 4.0]
    """
    return pow(operand(input), 2)
