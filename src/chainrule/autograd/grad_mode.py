"""Grad mode: whether new ops record themselves in the graph."""

from __future__ import annotations

import functools
import inspect
import threading

from chainrule.errors import GraphError


class _GradModeState(threading.local):
    """Grad mode per thread, as in PyTorch: a ``no_grad`` block in a worker thread (the
    playground's training steps) never switches recording off in another thread."""

    enabled = True  # each new thread starts with recording on (what every op reads)
    inference = False  # inside an inference_mode block
    # The grad mode as set (is_grad_enabled()): ``enabled`` unless inside inference_mode, where
    # enable_grad() turns it on and still nothing records, as in PyTorch.
    requested = True


# How many inference_mode blocks are open, in all threads: while none is, making a tensor
# checks one list entry and no thread-local state.
_INFERENCE_BLOCKS = [0]
# How many inference tensors are alive, plus the open inference_mode blocks: while it is 0,
# an op never looks for one (InferenceTensor.__del__ counts down).
_INFERENCE_LIVE = [0]
# {Tensor: InferenceTensor}, filled by chainrule.inference_tensor (which imports Tensor).
_INFERENCE_CLASS: dict = {}


_GradMode = _GradModeState()


def is_grad_enabled() -> bool:
    """True when ops record the graph that ``backward()`` walks; inside ``inference_mode``,
    whether grad mode was switched on there (``enable_grad``), though nothing records."""
    return _GradMode.requested


def _set(mode: bool) -> None:
    """Set grad mode: inside ``inference_mode`` only what ``is_grad_enabled()`` reports (PyTorch
    records no graph there, whatever the grad mode)."""
    _GradMode.requested = mode
    _GradMode.enabled = mode and not _GradMode.inference


class _SetGradMode:
    """Context manager and decorator that sets grad mode and restores it afterwards.

    As a decorator it applies to every call, and to every step of a generator function (as
    PyTorch's); ``@no_grad`` and ``@enable_grad`` also work without parentheses.
    """

    mode = True

    def __new__(cls, *args, **kwargs):
        if (
            cls in (no_grad, enable_grad, inference_mode)
            and len(args) == 1
            and callable(args[0])
            and not kwargs
        ):
            return cls()(args[0])  # @no_grad without parentheses
        return super().__new__(cls)

    def __enter__(self):
        self._previous = _GradMode.enabled, _GradMode.requested
        if self.mode is not None:
            _set(self.mode)
        return self

    def __exit__(self, *exc):
        _GradMode.enabled, _GradMode.requested = self._previous
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
        self._previous = _GradMode.enabled, _GradMode.requested
        _set(self.mode)

    def __enter__(self):
        return self  # the mode was set when the object was made

    def __call__(self, fn):
        # decorating does not change the current mode
        _GradMode.enabled, _GradMode.requested = self._previous
        return super().__call__(fn)

    def _clone(self):
        return _SetFor(self.mode)


class _SetFor(_SetGradMode):
    """``mode`` for one block or call (set_grad_enabled's decorator)."""

    def __init__(self, mode: bool):
        self.mode = mode


class inference_mode(_SetGradMode):
    """PyTorch's ``inference_mode``: no recording, and every tensor made inside is an
    *inference tensor* (``t.is_inference()``), as in PyTorch. Outside the block such a tensor
    works in any op that does not record, but an op that would save it for backward raises
    (``GraphError``), and so do in-place writes to it and ``requires_grad_()``: ``t.clone()``
    makes a normal tensor. ``inference_mode(False)`` switches it off again, with recording on.

    Example:
        >>> import chainrule as cr
        >>> with cr.inference_mode():
        ...     y = cr.ones(2) * 2
        >>> y.is_inference(), y.requires_grad, y.clone().is_inference()
        (True, False, False)
    """

    def __init__(self, mode: bool = True):
        self.inference = bool(mode)
        self.mode = not self.inference

    def __enter__(self):
        self._previous = _GradMode.enabled, _GradMode.requested, _GradMode.inference
        _GradMode.inference = self.inference
        _set(self.mode)
        _INFERENCE_BLOCKS[0] += 1
        _INFERENCE_LIVE[0] += 1
        return self

    def __exit__(self, *exc):
        _GradMode.enabled, _GradMode.requested, _GradMode.inference = self._previous
        _INFERENCE_BLOCKS[0] -= 1
        _INFERENCE_LIVE[0] -= 1
        return False

    def _clone(self):
        return inference_mode(self.inference)


def is_inference_mode_enabled() -> bool:
    """True inside an ``inference_mode`` block (of this thread), as PyTorch's."""
    return _INFERENCE_BLOCKS[0] > 0 and _GradMode.inference


def inference_tensor(tensor, like=None):
    """Make ``tensor`` an inference tensor when it is made inside ``inference_mode`` (or, with
    ``like``, when ``like`` is one: ``detach()`` keeps the mark, as PyTorch's). The mark is its
    class, :class:`~chainrule.inference_tensor.InferenceTensor`: reading ``_inference`` is
    then a class attribute, never a missing slot (an exception, a microsecond per op)."""
    if (_GradMode.inference and _INFERENCE_BLOCKS[0]) if like is None else like._inference:
        cls = _INFERENCE_CLASS.get(tensor.__class__)
        if cls is not None:  # a plain Tensor (a Parameter made in the block stays one)
            tensor.__class__ = cls
            _INFERENCE_LIVE[0] += 1
    return tensor


def inference_result(inputs, out) -> bool:
    """Whether an op's unrecorded result ``out`` (an array) is an inference tensor: made inside
    ``inference_mode``, or a view of an inference tensor (``x[0]``, ``x.view(-1)``, ``x.t()``:
    sharing its memory), as in PyTorch, which also refuses in-place writes into such a view."""
    if _GradMode.inference and _INFERENCE_BLOCKS[0]:
        return True
    base = getattr(out, "base", None)
    if base is None:
        return False
    for tensor in inputs:
        if tensor._inference:
            owner = tensor.array.base if tensor.array.base is not None else tensor.array
            return base is owner or base is tensor.array
    return False


def is_inference(tensor) -> bool:
    """``torch.is_inference``: whether ``tensor`` was made inside ``inference_mode``."""
    return tensor._inference


def refuse_outside_inference(tensor, what: str) -> None:
    """PyTorch's rule: an inference tensor is not written in place, nor made to require grad,
    outside ``inference_mode``."""
    if tensor._inference and not is_inference_mode_enabled():
        raise GraphError(
            f"{what} on an inference tensor (made inside cr.inference_mode()) outside "
            f"inference_mode is not allowed, as in PyTorch; make a normal tensor first with "
            f"t.clone(), or use cr.no_grad() instead of cr.inference_mode()"
        )


def refuse_saving_inference(fn, inputs) -> None:
    """Raise if an op that saves its inputs for backward is recorded on an inference tensor
    (PyTorch: "Inference tensors cannot be saved for backward")."""
    for tensor in inputs:
        if tensor._inference:
            raise GraphError(
                f"inference tensors cannot be saved for backward: {type(fn).__name__} needs the "
                f"values of a tensor made inside cr.inference_mode() to compute gradients; "
                f"make a normal tensor with t.clone(), or use cr.no_grad() instead of "
                f"cr.inference_mode()"
            )
