"""PyTorch's functions whose method form chainrule already has (``torch.t(x)`` is ``x.t()``):
each is the method, called on its first argument."""

from __future__ import annotations

from chainrule.ops._util import operand
from chainrule.tensor import Tensor


def detach(input) -> Tensor:  # noqa: A002 - PyTorch's names
    """``input.detach()``: the same values, outside the graph."""
    return operand(input).detach()


def is_floating_point(input) -> bool:  # noqa: A002
    """``input.is_floating_point()``."""
    return operand(input).is_floating_point()


def multiply(input, other) -> Tensor:  # noqa: A002
    """``input * other`` (``torch.mul``'s other name)."""
    return operand(input).multiply(other)


def subtract(input, other, *, alpha=1) -> Tensor:  # noqa: A002
    """``input - alpha * other`` (``torch.sub``'s other name)."""
    return operand(input).subtract(other, alpha=alpha)


def ravel(input) -> Tensor:  # noqa: A002
    """``input.ravel()``: flattened to 1-D."""
    return operand(input).ravel()


def t(input) -> Tensor:  # noqa: A002
    """``input.t()``: a matrix transposed (a vector or 0-d tensor as it is)."""
    return operand(input).t()


def _method_alias(name: str, method: str):
    def call(input, *args):  # noqa: A002
        return getattr(operand(input), method)(*args)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``input.{method}(...)`` (``torch.{name}``, NumPy's name for it)."
    return call


absolute = _method_alias("absolute", "abs")
negative = _method_alias("negative", "neg")
fix = _method_alias("fix", "trunc")
arccos = _method_alias("arccos", "acos")
arcsin = _method_alias("arcsin", "asin")
arctan = _method_alias("arctan", "atan")
arctan2 = _method_alias("arctan2", "atan2")
