"""The two things every training plot does: make a matplotlib figure, and write it out.

matplotlib is imported on first use and only through its object-oriented API (no ``pyplot``),
so plots work without a display and leave a user's own figures alone.
"""

from __future__ import annotations

import io
import os

__all__ = ["figure", "save"]


def save(fig, path):
    """Write ``fig`` to ``path`` atomically (format from the suffix) and return the path; with
    ``path=None`` return the figure itself."""
    if path is None:
        return fig
    path = os.fspath(path)
    fmt = os.path.splitext(path)[1].lstrip(".").lower() or "png"
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, bbox_inches="tight", dpi=110)
    from chainrule.io.atomic import atomic_write

    atomic_write(path, buffer.getvalue())
    return path


def figure(width: float, height: float):
    """A new constrained-layout figure of that size in inches."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")
