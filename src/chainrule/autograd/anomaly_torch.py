"""PyTorch's anomaly mode, ``torch.autograd.detect_anomaly`` and ``set_detect_anomaly``.

PyTorch's check differs from :func:`chainrule.detect_anomaly` (autograd/anomaly.py), so it is
its own mode: it looks at the backward pass only (a forward NaN, such as a masked ``log(0)``,
passes), only for NaN (an infinite gradient passes), and raises PyTorch's ``RuntimeError``
"Function 'SqrtBackward0' returned nan values in its 0th output." naming the op PyTorch would
name, after a warning that points at the forward call. ``check_nan=False`` turns the check off
while the mode stays on, as in PyTorch.
"""

from __future__ import annotations

import functools
import traceback
import warnings

import numpy as np

from chainrule.autograd.function import add_observer, remove_observer
from chainrule.errors import NonFiniteError

_state = {"enabled": False, "check_nan": True}

__all__ = [
    "detect_anomaly",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
]


def _has_nan(array) -> bool:
    return isinstance(array, np.ndarray) and array.dtype.kind in "fc" and np.isnan(array).any()


def _checked_backward(fn, forward_stack: str):
    def backward(grad):
        grads = type(fn).backward(fn, grad)
        if _state["check_nan"]:
            for index, grad_in in enumerate(grads):
                if grad_in is not None and _has_nan(np.asarray(grad_in)):
                    name = fn.name().rpartition("::")[2]
                    warnings.warn(
                        f"Error detected in {name}. Traceback of forward call that caused the "
                        f"error:\n{forward_stack}",
                        UserWarning,
                        stacklevel=2,
                    )
                    raise NonFiniteError(
                        f"Function '{name}' returned nan values in its {index}th output."
                    )
        return grads

    return backward


def _watch(cls, inputs, params, result) -> None:
    """An observer of every op: give the recorded node a backward that checks for NaN."""
    ctx = result._ctx
    if ctx is not None and _state["enabled"]:
        stack = "".join(traceback.format_stack(limit=12)[:-2])
        # instance attributes shadow the class's methods; the engine's in-place variant (large
        # gradients) is sent to the checked one too, so no gradient escapes the check
        ctx.backward = ctx.backward_in_place = _checked_backward(ctx, stack)


def _set(mode: bool, check_nan: bool) -> None:
    if mode and not _state["enabled"]:
        add_observer(_watch)
    elif not mode and _state["enabled"]:
        remove_observer(_watch)
    _state["enabled"], _state["check_nan"] = bool(mode), bool(check_nan)


class set_detect_anomaly:
    """Turn PyTorch's anomaly mode on or off: at once when called, and back to the previous
    setting at the end of a ``with`` block."""

    def __init__(self, mode: bool, check_nan: bool = True):
        self.prev = (_state["enabled"], _state["check_nan"])
        _set(mode, check_nan)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False


class detect_anomaly:
    """Context manager and decorator: PyTorch's anomaly mode for the block (see the module
    docstring); it warns that the mode is on, as PyTorch does."""

    def __init__(self, check_nan: bool = True):
        self.check_nan = check_nan
        self.prev = None
        warnings.warn(
            "Anomaly Detection has been enabled. This mode will increase the runtime and should "
            "only be enabled for debugging.",
            UserWarning,
            stacklevel=2,
        )

    def __enter__(self):
        self.prev = (_state["enabled"], _state["check_nan"])
        _set(True, self.check_nan)
        return self

    def __exit__(self, *exc):
        _set(*self.prev)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__(self.check_nan):
                return fn(*args, **kwargs)

        return wrapper


def is_anomaly_enabled() -> bool:
    """True while PyTorch's anomaly mode is on."""
    return _state["enabled"]


def is_anomaly_check_nan_enabled() -> bool:
    """True while PyTorch's anomaly mode checks gradients for NaN."""
    return _state["check_nan"]
