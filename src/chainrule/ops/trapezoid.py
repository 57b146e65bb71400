"""The trapezoidal rule, as ``torch.trapezoid`` (also ``trapz``) and
``torch.cumulative_trapezoid``: ∫y dx ≈ Σ (x[i+1] − x[i])·(y[i] + y[i+1])/2 along ``dim``.

Composed of differentiable ops (slices, products, sums), so the gradient in ``y`` and in the
sample points ``x`` comes from theirs; the formulas are PyTorch's, term for term.
"""

from __future__ import annotations

from chainrule.errors import ArgumentError, ShapeError
from chainrule.ops._util import floating, operand
from chainrule.tensor import Tensor


def _axis(y: Tensor, dim: int, name: str) -> int:
    if y.ndim == 0:
        raise ShapeError(f"{name}: y must have at least one dimension, got a 0-d tensor")
    if not -y.ndim <= dim < y.ndim:
        from chainrule.errors import DimensionError

        raise DimensionError(
            f"{name}: dim {dim} is out of range for a tensor of {y.ndim} dimension(s)"
        )
    return dim % y.ndim


def _spacing(x, y: Tensor, axis: int, name: str):
    """The widths x[i+1] − x[i], shaped to broadcast with the y slices along ``axis``."""
    x = operand(x)
    if x.ndim == 1:
        if x.shape[0] != y.shape[axis]:
            raise ShapeError(
                f"{name}: there must be one x value for each sample point along dim {axis}: "
                f"x has {x.shape[0]}, y has {y.shape[axis]}"
            )
        widths = x[1:] - x[:-1]
        return widths.reshape(widths.shape[0], *([1] * (y.ndim - 1 - axis)))
    if x.ndim != y.ndim:
        raise ShapeError(
            f"{name}: x must be 1-D or have y's number of dimensions, got shapes {x.shape} "
            f"and {y.shape}"
        )
    left, right = _sides(x, axis)
    return right - left


def _sides(y: Tensor, axis: int):
    """y without its last and without its first sample along ``axis`` (empty stays empty)."""
    n = y.shape[axis]
    if n == 0:
        return y, y
    return y.narrow(axis, 0, n - 1), y.narrow(axis, 1, n - 1)


def _check_x_dx(x, dx, name: str) -> None:
    if x is not None and dx is not None:
        raise ArgumentError(f"{name}: pass x or dx, not both")
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        raise ArgumentError(f"{name}: x must be a tensor of sample points; for a spacing use dx=")


def trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """∫y along ``dim`` by the trapezoidal rule, with sample points ``x`` (1-D, or y's shape)
    or a constant spacing ``dx`` (default 1), as ``torch.trapezoid``. Integer ``y`` gives the
    default float dtype only where the formula divides (PyTorch's types); differentiable in
    ``y`` and ``x``.

    Example:
        >>> import chainrule as cr
        >>> cr.trapezoid(cr.tensor([1.0, 2.0, 3.0])).item()
        4.0
        >>> cr.trapezoid(cr.tensor([1.0, 2.0, 3.0]), cr.tensor([0.0, 1.0, 3.0])).item()
        6.5
    """
    _check_x_dx(x, dx, "trapezoid")
    y = operand(y)
    axis = _axis(y, dim, "trapezoid")
    if y.shape[axis] == 0:  # PyTorch: zeros of the reduced shape
        return y.sum(axis) * 0 if y.dtype.kind == "f" else floating(y).sum(axis) * 0
    if x is None:
        dx = 1 if dx is None else dx
        ends = y.select(axis, 0) + y.select(axis, -1)
        return (y.sum(axis) - ends * 0.5) * dx  # PyTorch's: dx·(Σy − (y₀ + yₙ)/2)
    widths = _spacing(x, y, axis, "trapezoid")
    left, right = _sides(y, axis)
    return (widths * (left + right)).sum(axis) / 2


def trapz(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """``torch.trapz``: :func:`trapezoid` by its older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y, x=None, *, dx=None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim`` (one element fewer than ``y`` there),
    as ``torch.cumulative_trapezoid``; ``x`` and ``dx`` as in :func:`trapezoid`.

    Example:
        >>> import chainrule as cr
        >>> cr.cumulative_trapezoid(cr.tensor([1.0, 2.0, 3.0])).tolist()
        [1.5, 4.0]
    """
    _check_x_dx(x, dx, "cumulative_trapezoid")
    y = operand(y)
    axis = _axis(y, dim, "cumulative_trapezoid")
    left, right = _sides(y, axis)
    if x is None:
        return ((left + right) * ((1 if dx is None else dx) / 2.0)).cumsum(axis)
    widths = _spacing(x, y, axis, "cumulative_trapezoid")
    return ((widths * (left + right)) / 2).cumsum(axis)
