"""``lerp``: start + weight·(end − start), one op as PyTorch's (``LerpBackward0`` for a number
weight, ``LerpBackward1`` for a tensor weight), with PyTorch's two formulas: for |weight| ≥ 0.5
it computes end − (end − start)·(1 − weight), which gives ``end`` exactly at weight 1."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, DTypeNotImplementedError, ShapeError
from chainrule.ops._util import operand
from chainrule.tensor import Tensor


def _lerp(start, end, weight):
    span = np.subtract(end, start)
    near_start = np.abs(weight) < 0.5
    low = np.add(start, np.multiply(weight, span))
    high = np.subtract(end, np.multiply(span, np.subtract(1, weight, dtype=span.dtype)))
    return np.where(near_start, low, high)


class LerpScalar(Function):
    """start + w·(end − start) for a number w.  Local derivatives: 1 − w and w."""

    saves_inputs = False
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "lerp"
    formulas = ("1 − w", "w")

    def forward(self, start, end, weight):
        self.weight = weight
        span = np.subtract(end, start)
        if abs(weight) < 0.5:
            return np.add(start, np.multiply(span, weight))
        return np.subtract(end, np.multiply(span, 1 - weight))

    def backward(self, grad):
        w = self.weight
        grad_start = np.multiply(grad, 1 - w) if self.needs_grad[0] else None
        grad_end = np.multiply(grad, w) if self.needs_grad[1] else None
        return grad_start, grad_end

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return grad * (1 - self.weight), grad * self.weight


class Lerp(Function):
    """start + w·(end − start) for a tensor w.  Local derivatives: 1 − w, w and end − start."""

    label = "lerp"
    formulas = ("1 − w", "w", "end − start")

    def forward(self, start, end, weight):
        self.start, self.end, self.weight = start, end, weight
        return _lerp(start, end, weight)

    def backward(self, grad):
        w = self.weight
        grad_start = np.multiply(grad, np.subtract(1, w, dtype=w.dtype))
        grad_end = np.multiply(grad, w) if self.needs_grad[1] else None
        grad_w = None
        if self.needs_grad[2]:
            grad_w = np.multiply(grad, np.subtract(self.end, self.start))
        return grad_start if self.needs_grad[0] else None, grad_end, grad_w

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        start, end, weight = self.parents
        return grad * (1 - weight), grad * weight, grad * (end - start)


def lerp(start, end, weight) -> Tensor:
    """start + weight·(end − start), as ``torch.lerp``, in PyTorch's two forms: for
    |weight| ≥ 0.5 it computes end − (end − start)·(1 − weight), which gives ``end`` exactly
    at weight 1. Local derivatives: 1 − weight, weight, and end − start for a tensor weight.

    Args:
        start: the tensor at weight 0.
        end: the tensor at weight 1 (the same dtype as ``start``).
        weight: a number, or a tensor of ``start``'s dtype (a 0-d tensor may have another).

    Shape:
        start, end and a tensor weight broadcast together; the output has the broadcast shape.

    Example:
        >>> import chainrule as cr
        >>> cr.lerp(cr.tensor([1.0]), cr.tensor([3.0]), 0.75).tolist()
        [2.5]
    """
    start, end = operand(start), operand(end)
    if start.array.dtype.kind != "f":  # PyTorch has no integer or bool kernel
        raise DTypeNotImplementedError(
            f"lerp needs floating-point tensors (as PyTorch), got {start.array.dtype}"
        )
    scalar_weight = not isinstance(weight, Tensor)
    if not scalar_weight and weight.array.ndim == 0 and weight.array.dtype != start.array.dtype:
        weight = weight.to(start.dtype)  # PyTorch takes a 0-d weight of any dtype
    for t in (end, weight):
        if isinstance(t, Tensor) and t.array.dtype != start.array.dtype:
            raise DTypeError(
                f"lerp needs one dtype (as PyTorch), got {start.array.dtype} and {t.array.dtype}; "
                f"convert first, e.g. end.to(start.dtype)"
            )
    shapes = [start.array.shape, end.array.shape]
    if not scalar_weight:
        shapes.append(weight.array.shape)
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ShapeError(f"lerp got shapes {shapes}, which do not broadcast together") from None
    if scalar_weight:
        return LerpScalar.apply(start, end, weight=float(weight))
    return Lerp.apply(start, end, weight)
