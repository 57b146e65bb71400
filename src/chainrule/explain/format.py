"""How a number is printed in an explanation: ``fmt`` for one value, ``summary`` for an array."""

from __future__ import annotations

import math

import numpy as np


def fmt(value, decimals: int = 9) -> str:
    """A number the way a worked example prints it: ``decimals`` places (more for tiny values,
    so at least 6 significant digits show), trailing zeros dropped."""
    v = float(value)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return str(v)
    a = abs(v)
    if a >= 1e7 or a < 1e-9:
        return f"{v:.6e}"
    places = max(decimals, 5 - math.floor(math.log10(a)))
    text = f"{v:.{places}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def summary(a) -> str:
    """One number as itself, up to four as a list, more as mean, std, min and max."""
    if a is None:
        return "—"
    a = np.asarray(a, dtype=np.float64)
    if a.size == 1:
        return fmt(a.reshape(-1)[0])
    if a.size <= 4:
        return "[" + ", ".join(fmt(v, 6) for v in a.reshape(-1)) + "]"
    with np.errstate(invalid="ignore"):  # -inf entries (attention masks): std is nan, quietly
        return (
            f"mean {fmt(a.mean(), 4)}, std {fmt(a.std(), 4)}, "
            f"min {fmt(a.min(), 4)}, max {fmt(a.max(), 4)}"
        )
