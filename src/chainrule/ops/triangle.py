"""The lower and upper triangles of a matrix (``tril``, ``triu``), the rest 0."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import check_int, operand
from chainrule.tensor import Tensor


class Triangle(Function):
    """The lower (``tril``) or upper (``triu``) triangle of the last two axes, the rest 0.
    Local derivative: 1 inside the triangle, 0 outside."""

    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)

    saves_inputs = False  # backward reads the diagonal only
    saves_tensors = False  # a second backward() may pass (Function.release)
    grads_match_inputs = True
    label = "triangle"
    formulas = ("1 inside the triangle, 0 outside",)

    def forward(self, x, lower, diagonal):
        self.keep = np.tril if lower else np.triu
        self.diagonal = diagonal
        return self.keep(x, diagonal)

    def backward(self, grad):
        return (self.keep(grad, self.diagonal),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        lower = self.keep is np.tril
        return (Triangle.apply(grad, lower=lower, diagonal=self.diagonal),)


def tril(x, diagonal: int = 0) -> Tensor:
    """The lower triangle of the last two axes (on and below ``diagonal``), zeros above, as
    ``torch.tril``.

    Example:
        >>> import chainrule as cr
        >>> cr.tril(cr.ones(2, 2)).tolist()
        [[1.0, 0.0], [1.0, 1.0]]
    """
    return _triangle(x, True, diagonal, "tril")


def triu(x, diagonal: int = 0) -> Tensor:
    """The upper triangle of the last two axes (on and above ``diagonal``), as ``torch.triu``."""
    return _triangle(x, False, diagonal, "triu")


def _triangle(x, lower: bool, diagonal, op: str) -> Tensor:
    x = operand(x)
    if x.ndim < 2:
        raise ShapeError(f"{op}: needs at least 2 dimensions, got a tensor of shape {x.shape}")
    return Triangle.apply(x, lower=lower, diagonal=check_int(diagonal, "diagonal", op))
