"""Grad mode: whether new ops record themselves in the graph."""

from __future__ import annotations

import functools
import inspect
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
    """Context manager and decorator that sets grad mode and restores it afterwards.

    As a decorator it applies to every call, and to every step of a generator function (as
    PyTorch's); ``@no_grad`` and ``@enable_grad`` also work without parentheses.
    """

    mode = True

    def __new__(cls, *args, **kwargs):
        if cls in (no_grad, enable_grad) and len(args) == 1 and callable(args[0]) and not kwargs:
            return cls()(args[0])  # @no_grad without parentheses
        return super().__new__(cls)

    def __enter__(self):
        self._previous = _GradMode.enabled
        if self.mode is not None:
            _GradMode.enabled = self.mode
        return self

    def __exit__(self, *exc):
        _GradMode.enabled = self._previous
        return False

    def _clone(self):
        return self.__class__()

    def __call__(self, fn):
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def generator(*args, **kwargs):
                gen = fn(*args, **kwargs)
                try:
                    with self._clone():
                        value = next(gen)
                    while True:
                        try:
                            sent = yield value
                        except GeneratorExit:
                            with self._clone():
                                gen.close()
                            raise
                        except BaseException as err:  # thrown in: hand it to the generator
                            with self._clone():
                                value = gen.throw(err)
                        else:
                            with self._clone():
                                value = gen.send(sent)
                except StopIteration as stop:
                    return stop.value

            return generator

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self._clone():
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
    """Set grad mode to ``mode``: at once when called (``cr.set_grad_enabled(False)`` switches
    recording off until switched back), for a block with ``with``, or for a function as a
    decorator, as PyTorch's."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)
        self._previous = _GradMode.enabled
        _GradMode.enabled = self.mode

    def __enter__(self):
        return self  # the mode was set when the object was made

    def __call__(self, fn):
        _GradMode.enabled = self._previous  # decorating does not change the current mode
        return super().__call__(fn)

    def _clone(self):
        return _SetFor(self.mode)


class _SetFor(_SetGradMode):
    """``mode`` for one block or call (set_grad_enabled's decorator)."""

    def __init__(self, mode: bool):
        self.mode = mode


class inference_mode(_SetGradMode):
    """PyTorch's ``inference_mode``: here the same as ``no_grad`` (no inference tensors);
    ``inference_mode(False)`` changes nothing."""

    def __init__(self, mode: bool = True):
        self.mode = False if mode else None

    def _clone(self):
        return inference_mode(self.mode is False)
