"""Numbers as the page receives them: rounded, and None where a diverged run gave NaN or inf."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["finite_or_none", "rounded"]


def rounded(a, digits: int = 5) -> list:
    """Rounded numbers for JSON; NaN and infinity (a diverged run) become None."""
    a = np.round(np.asarray(a, dtype=np.float64), digits)
    if np.isfinite(a).all():
        return a.tolist()
    return np.where(np.isfinite(a), a, None).tolist()


def finite_or_none(value):
    return value if value is None or math.isfinite(value) else None
