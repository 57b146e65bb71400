"""``masked_scatter``: the masked places of a tensor take the source's values in order, as
``torch.masked_scatter``. One op class, its forward and derivative side by side: the gradient
of the input passes where the mask is False, the source's first k elements (k = the number of
True places) take the gradient of the places they filled, the rest get 0.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import operand
from chainrule.tensor import Tensor


class MaskedScatter(Function):
    label = "masked_scatter"
    formulas = ("1 where mask is False, else 0", "1 for the first k = Σmask elements, else 0")
    saves_inputs = False  # backward reads the mask and shapes only

    def forward(self, x, source, mask):
        self.mask, self.source_shape = mask, source.shape
        out = np.array(np.broadcast_to(x, mask.shape))  # a fresh copy, the broadcast shape
        self.k = int(np.count_nonzero(mask))
        out[mask] = source.reshape(-1)[: self.k]
        return out

    def backward(self, grad):
        grad_x = np.where(self.mask, np.zeros((), grad.dtype), grad)
        grad_source = np.zeros(int(np.prod(self.source_shape)), grad.dtype)
        grad_source[: self.k] = grad[self.mask]
        return grad_x, grad_source.reshape(self.source_shape)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.elementwise import where
        from chainrule.ops.shape import cat

        grad_x = where(Tensor._make(self.mask, False), 0.0, grad)
        unused = int(np.prod(self.source_shape)) - self.k
        rest = Tensor._make(np.zeros(unused, grad.array.dtype), False)
        grad_source = cat([grad[self.mask], rest]).reshape(self.source_shape)
        return grad_x, grad_source


def masked_scatter(input, mask, source) -> Tensor:  # noqa: A002 - PyTorch's names
    """``input`` with its places where ``mask`` is True filled, in row-major order, from the
    first elements of ``source``, as ``torch.masked_scatter``: ``mask`` is bool and broadcasts
    with ``input``; ``source`` has ``input``'s dtype and at least as many elements as the mask
    has True values. Differentiable in ``input`` and ``source``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.zeros(2, 3)
        >>> mask = cr.tensor([[True, False, True], [False, True, False]])
        >>> cr.masked_scatter(x, mask, cr.tensor([1.0, 2.0, 3.0, 4.0])).tolist()
        [[1.0, 0.0, 2.0], [0.0, 3.0, 0.0]]
    """
    x, source, mask = operand(input), operand(source), operand(mask)
    if mask.array.dtype != np.bool_:
        raise DTypeError(f"masked_scatter: mask must be a bool tensor, got {mask.array.dtype}")
    if source.array.dtype != x.array.dtype:
        raise DTypeError(
            f"masked_scatter: expected input and source to have the same dtype, got "
            f"{x.array.dtype} and {source.array.dtype} (as in PyTorch); convert the source "
            f"with .to(input.dtype)"
        )
    try:
        shape = np.broadcast_shapes(x.shape, mask.shape)
    except ValueError:
        raise ShapeError(
            f"masked_scatter: mask of shape {mask.shape} does not broadcast with input of shape "
            f"{x.shape}"
        ) from None
    full = np.broadcast_to(mask.array, shape)
    if np.count_nonzero(full) > source.array.size:
        raise ShapeError(
            f"masked_scatter: the mask has {np.count_nonzero(full)} True places but source only "
            f"{source.array.size} elements"
        )
    return MaskedScatter.apply(x, source, mask=full)
