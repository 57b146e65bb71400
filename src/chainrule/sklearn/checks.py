"""Parameter checks that fail with scikit-learn's error wording."""

from __future__ import annotations

import math
import numbers

__all__ = ["check", "is_int", "is_real"]


def check(condition: bool, name: str, value, expected: str) -> None:
    """Raise scikit-learn's ValueError for parameter ``name`` unless ``condition`` holds."""
    if not condition:
        raise ValueError(f"The '{name}' parameter must be {expected}; got {value!r}.")


def is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
