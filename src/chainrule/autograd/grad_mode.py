"""Grad mode: whether new ops record themselves in the graph."""

from __future__ import annotations

import functools
import threading


class _GradModeState(threading.local):
    """Grad mode per thread, as in PyTorch: a ``no_grad`` block in a worker thread (the
    playground's training steps) never switches recording off in another thread."""

    enabled = True  # each new thread starts with recording on


_GradMode = _GradModeState()


def is_grad_enabled() -> bool:
    """True when ops record the graph that ``backward()`` walks."""
    return _GradMode.enabled


class _SetGradMode:
    """Context manager and decorator that sets grad mode and restores it afterwards."""

    mode = True

    def __enter__(self):
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_SetGradMode):
    """Switch graph recording off: for evaluation, and for updating parameters by hand.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> with cr.no_grad():
        ...     y = w * 2
        >>> y.requires_grad
        False
    """

    mode = False


class enable_grad(_SetGradMode):
    """Switch graph recording back on inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_SetGradMode):
    """Set grad mode to ``mode`` for a block."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
