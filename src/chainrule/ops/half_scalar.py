"""A float16 tensor times or divided by a number, as PyTorch computes it: in float32 with the
number in float32 (its "opmath"), rounded once to float16. Rounding the number to float16 first
gives other bits (x · 0.1 differs in a third of the elements) or none at all (x / 1e5 is 0, as
1e5 is inf in float16). PyTorch's + and − do round the number to float16, as chainrule does."""

from __future__ import annotations

import numpy as np

from chainrule.tensor import Tensor

_NUMBERS = (int, float, np.integer, np.floating)


def is_half_and_number(a, b) -> bool:
    """One operand a float16 tensor, the other a (non-bool) number."""
    for tensor, number in ((a, b), (b, a)):
        if (
            isinstance(tensor, Tensor)
            and tensor.array.dtype == np.float16
            and isinstance(number, _NUMBERS)
            and not isinstance(number, (bool, np.bool_))
        ):
            return True
    return False


def half_by_number(op, a, b) -> Tensor:
    """``op`` (Mul or Div) of a float16 tensor and a number in float32, rounded to float16; the
    casts are in the graph, so the gradient is rounded the same way (as PyTorch's)."""
    from chainrule.ops.elementwise import cast

    with np.errstate(over="ignore"):  # a number past float32's range is inf, as PyTorch's
        a, b = (
            cast(x, np.float32) if isinstance(x, Tensor) else Tensor._make(np.float32(x), False)
            for x in (a, b)
        )
    return cast(op.apply(a, b), np.float16)


def number_over_half(x: Tensor, number) -> Tensor:
    """``number / x``: PyTorch's reciprocal of x (in float16), times the number in float32."""
    from chainrule.ops.elementwise import Mul
    from chainrule.ops.math import reciprocal

    return half_by_number(Mul, reciprocal(x), number)
