"""Diagonals: ``diag`` (a vector onto a matrix's diagonal, or a matrix's diagonal out as a
vector, both copies) and ``diagonal`` (a view of the diagonal of any two dims), as PyTorch."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import check_int, operand
from chainrule.ops.getitem import GetItem, PlaceAt
from chainrule.ops.shape import _one_axis
from chainrule.tensor import Tensor


class DiagEmbed(Function):
    """A vector v laid on diagonal k of a square zero matrix.  Local derivative: 1 from each
    diagonal entry back to its element of v."""

    saves_inputs = False
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "diag"
    formulas = ("1 (the diagonal, read back)",)
    grads_match_inputs = True

    def forward(self, v, k):
        self.k = k
        return np.diag(v, k)

    def backward(self, grad):
        return (np.diagonal(grad, self.k).copy(),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        positions = np.diagonal(_flat_positions(grad.shape), self.k)
        return (GetItem.apply(grad.reshape(-1), index=positions, advanced=True),)


class Diagonal(Function):
    """The entries (i, i + offset) of dims d1, d2, as a new last dim: a view, as PyTorch's
    ``diagonal`` (writing into it writes into the input).  Local derivative: 1 at those entries,
    0 elsewhere."""

    saves_inputs = False
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "diagonal"
    formulas = ("1 at the diagonal entries, else 0",)
    grads_match_inputs = True

    def forward(self, x, offset, dim1, dim2):
        self.shape, self.offset, self.dim1, self.dim2 = x.shape, offset, dim1, dim2
        view = np.diagonal(x, offset, dim1, dim2)
        if x.flags.writeable:
            view.flags.writeable = True  # NumPy makes it read-only; PyTorch's view is writable
        return view

    def backward(self, grad):
        full = np.zeros(self.shape, grad.dtype)
        target = np.diagonal(full, self.offset, self.dim1, self.dim2)
        target.flags.writeable = True
        target[...] = grad
        return (full,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        positions = np.diagonal(_flat_positions(self.shape), self.offset, self.dim1, self.dim2)
        size = int(np.prod(self.shape))
        flat = PlaceAt.apply(grad, shape=(size,), index=positions, advanced=True)
        return (flat.reshape(self.shape),)


class DiagCopy(Diagonal):
    """``diag`` of a matrix: its diagonal as a 1-D copy (PyTorch's ``DiagonalBackward0_copy``)."""

    def forward(self, x, offset, dim1, dim2):
        self.shape, self.offset, self.dim1, self.dim2 = x.shape, offset, dim1, dim2
        return np.diagonal(x, offset, dim1, dim2).copy()


class Trace(Function):
    """Σᵢ xᵢᵢ of a matrix.  Local derivative: 1 on the main diagonal, 0 elsewhere."""

    saves_inputs = False
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "trace"
    formulas = ("1 on the diagonal, else 0",)
    grads_match_inputs = True

    def forward(self, x):
        self.shape = x.shape
        # bool and unsigned sums are int64, as PyTorch's (NumPy: uint8 sums to uint64)
        return np.asarray(np.trace(x, dtype=np.int64 if x.dtype.kind in "bu" else None))

    def backward(self, grad):
        full = np.zeros(self.shape, grad.dtype)
        np.fill_diagonal(full, grad)
        return (full,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        eye = Tensor._make(np.eye(*self.shape, dtype=grad.array.dtype), False)
        return (eye * grad,)


def trace(x) -> Tensor:
    """``torch.trace``: the sum of a matrix's main diagonal (``t.trace()``; ``cr.trace`` is
    this for a 2-D tensor and the explainer's trace for anything else).

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([[1.0, 2.0], [3.0, 4.0]]).trace().item()
        5.0
    """
    x = operand(x)
    if x.array.ndim != 2:
        raise ShapeError(f"trace: expected a matrix (2-D tensor), got shape {x.shape}")
    return Trace.apply(x)


def _flat_positions(shape: tuple) -> np.ndarray:
    """Each element's position in the flattened array: indexing it tells where entries go."""
    return np.arange(int(np.prod(shape))).reshape(shape)


def diagonal(x, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """The diagonal of dims ``dim1`` and ``dim2`` (``offset`` > 0 above the main one, < 0
    below), moved to a new last dim, as ``torch.diagonal``; a view of ``x``.

    Example:
        >>> import chainrule as cr
        >>> cr.diagonal(cr.tensor([[1, 2], [3, 4]])).tolist()
        [1, 4]
    """
    x = operand(x)
    if x.array.ndim < 2:
        raise ShapeError(f"diagonal: needs at least 2 dimensions, got shape {x.shape}")
    d1, d2 = _one_axis(x, dim1, "diagonal"), _one_axis(x, dim2, "diagonal")
    if d1 == d2:
        raise ShapeError(f"diagonal: dim1 and dim2 are the same dimension ({dim1}, {dim2})")
    return Diagonal.apply(x, offset=check_int(offset, "offset", "diagonal"), dim1=d1, dim2=d2)


def diag(x, diagonal: int = 0) -> Tensor:
    """``torch.diag``: a 1-D ``x`` becomes a square matrix with ``x`` on diagonal ``diagonal``
    (zeros elsewhere); a 2-D ``x`` gives that diagonal as a 1-D copy.

    Example:
        >>> import chainrule as cr
        >>> cr.diag(cr.tensor([1, 2])).tolist()
        [[1, 0], [0, 2]]
        >>> cr.diag(cr.tensor([[1, 2], [3, 4]]), 1).tolist()
        [2]
    """
    x = operand(x)
    k = check_int(diagonal, "diagonal", "diag")
    if x.array.ndim == 1:
        return DiagEmbed.apply(x, k=k)
    if x.array.ndim == 2:
        return DiagCopy.apply(x, offset=k, dim1=0, dim2=1)
    raise ShapeError(
        f"diag: needs a 1-D or 2-D tensor, got shape {x.shape}; for other shapes use "
        f"diagonal(x, offset, dim1, dim2)"
    )
