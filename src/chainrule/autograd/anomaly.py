"""Anomaly detection: find the first op whose forward output or backward gradient is not finite.

While a :func:`detect_anomaly` block is active, an observer of ``Function.apply`` checks every
op's output and gives every recorded op a checking ``backward``. Outside the block no observer
is registered, so normal training pays nothing for the feature.
"""

from __future__ import annotations

import functools

import numpy as np

from chainrule.autograd.function import add_observer, remove_observer
from chainrule.errors import NonFiniteError

_state = {"depth": 0}


def _describe(fn) -> str:
    return f"{type(fn).__name__} (label {type(fn).label!r})"


def _bad(array) -> bool:
    return (
        isinstance(array, np.ndarray) and array.dtype.kind in "fc" and not np.isfinite(array).all()
    )


def _checked_backward(fn):
    def backward(grad):
        grads = type(fn).backward(fn, grad)
        for index, grad_in in enumerate(grads):
            if grad_in is not None and _bad(np.asarray(grad_in)):
                raise NonFiniteError(
                    f"detect_anomaly: {_describe(fn)} produced a non-finite gradient for its "
                    f"input {index} in the backward pass (upstream gradient finite: "
                    f"{bool(np.isfinite(grad).all())}); look at this op's derivative "
                    f"{type(fn).formulas[index] if index < len(type(fn).formulas) else ''!s}"
                )
        return grads

    return backward


def _check_op(cls, inputs, params, result):
    if _bad(result.array):
        already = [i for i, t in enumerate(inputs) if _bad(t.array)]
        where = (
            f"its input(s) {already} were already non-finite (NaN or inf in data or parameters)"
            if already
            else "its inputs were finite"
        )
        raise NonFiniteError(
            f"detect_anomaly: {cls.__name__} (label {cls.label!r}) produced a non-finite value "
            f"in the forward pass; {where}"
        )
    ctx = result._ctx
    if ctx is not None:
        # instance attributes shadow the class's methods; the engine's in-place variant (for
        # large gradients) goes to the checked one too, so no gradient escapes the check
        ctx.backward = ctx.backward_in_place = _checked_backward(ctx)


class detect_anomaly:
    """Context manager and decorator that stops at the first NaN or inf an op produces.

    Inside the block every op's forward output and every gradient its backward returns is
    checked; the first non-finite one raises :class:`chainrule.NonFiniteError` naming the op
    and the pass (forward or backward). Checking costs time, so use it to debug, not to train.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([-1.0], requires_grad=True)
        >>> with cr.detect_anomaly():
        ...     try:
        ...         cr.sqrt(x)
        ...     except cr.NonFiniteError as err:
        ...         print("Sqrt" in str(err), "forward" in str(err))
        True True
    """

    def __enter__(self):
        if _state["depth"] == 0:
            add_observer(_check_op)
        _state["depth"] += 1
        return self

    def __exit__(self, *exc):
        _state["depth"] -= 1
        if _state["depth"] == 0:
            remove_observer(_check_op)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly():
                return fn(*args, **kwargs)

        return wrapper


def is_anomaly_enabled() -> bool:
    """True inside a :func:`detect_anomaly` block."""
    return _state["depth"] > 0
