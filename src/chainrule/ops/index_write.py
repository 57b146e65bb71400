"""Writing into slices at indices, as PyTorch spells it: index_add, index_copy, index_fill and
scatter_add (out-of-place here; the in-place ``index_add_`` & co. are in
``tensor_methods_extra.py``).

Each op is one class with its forward and local derivative side by side. Index arguments are
integer arrays that get no gradient.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, IndexOutOfRangeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.elementwise import _constant, where
from chainrule.ops.getitem import GetItem, PlaceAt
from chainrule.ops.indexing import _along, _dim, _int_index
from chainrule.tensor import Tensor


def _slices(dim: int, index: np.ndarray) -> tuple:
    return (slice(None),) * dim + (index,)


class IndexAdd(Function):
    """out = x, then out[..., index[i], ...] += α·source[..., i, ...] along ``dim``."""

    label = "index_add"
    formulas = ("1", "α at the slices added in (index_select of the gradient)")

    def forward(self, x, source, dim, index, alpha):
        self.where, self.alpha = _slices(dim, index), alpha
        out = x.copy()
        np.add.at(out, self.where, source * alpha if alpha != 1 else source)
        return out

    def backward(self, grad):
        grad_source = None
        if self.needs_grad[1]:
            grad_source = grad[self.where]
            if self.alpha != 1:
                grad_source = grad_source * np.asarray(self.alpha, grad.dtype)
        return grad, grad_source

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        grad_source = None
        if self.needs_grad[1]:
            grad_source = GetItem.apply(grad, index=self.where, advanced=True)
            if self.alpha != 1:
                grad_source = grad_source * _constant(np.asarray(self.alpha, grad.dtype))
        return grad, grad_source


class IndexCopy(Function):
    """out = x, then out[..., index[i], ...] = source[..., i, ...] along ``dim``."""

    label = "index_copy"
    formulas = ("0 at the overwritten slices, else 1", "1 at the slices copied in")

    def forward(self, x, source, dim, index):
        self.where = _slices(dim, index)
        out = x.copy()
        out[self.where] = source
        return out

    def backward(self, grad):
        grad_x = grad_source = None
        if self.needs_grad[0]:
            grad_x = grad.copy()
            grad_x[self.where] = 0
        if self.needs_grad[1]:
            grad_source = grad[self.where]
        return grad_x, grad_source

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        grad_x = grad_source = None
        if self.needs_grad[0]:
            written = np.zeros(grad.shape, dtype=bool)
            written[self.where] = True
            grad_x = where(_constant(written), 0, grad)
        if self.needs_grad[1]:
            grad_source = GetItem.apply(grad, index=self.where, advanced=True)
        return grad_x, grad_source


class ScatterAdd(Function):
    """out = x, then out[i][index[i][j]] += src[i][j] (for dim=1)."""

    label = "scatter_add"
    formulas = ("1", "1 at the positions added in (gather of the gradient)")

    def forward(self, x, src, dim, index):
        self.where = _along(index, dim)
        self.src_part = tuple(slice(0, n) for n in index.shape)
        self.src_shape = src.shape
        out = x.copy()
        np.add.at(out, self.where, src[self.src_part])
        return out

    def backward(self, grad):
        grad_src = None
        if self.needs_grad[1]:
            grad_src = np.zeros(self.src_shape, grad.dtype)
            grad_src[self.src_part] = grad[self.where]
        return grad, grad_src

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        grad_src = None
        if self.needs_grad[1]:
            grad_src = GetItem.apply(grad, index=self.where, advanced=True)
            if grad_src.shape != self.src_shape:  # src entries past the index get none
                shape, part = self.src_shape, self.src_part
                grad_src = PlaceAt.apply(grad_src, shape=shape, index=part, advanced=False)
        return grad, grad_src


# ---- functions ------------------------------------------------------------------------------
def _index_source(x: Tensor, dim, index, source, op: str):
    """Checked (dim, index, source) for index_add / index_copy (PyTorch's rules)."""
    index = _int_index(index, op)
    if index.ndim > 1:
        raise ShapeError(f"{op}: index must be 0-d or 1-D, got shape {index.shape}")
    index = index.reshape(-1)
    source = operand(source)
    if source.dtype != x.dtype:
        raise DTypeError(
            f"{op}: input ({x.dtype}) and source ({source.dtype}) must have the same dtype; "
            f"convert one, e.g. source.to(input.dtype)"
        )
    scalar = x.ndim == 0
    if scalar:  # PyTorch treats a 0-d input as one element along dim 0
        x, source = x.reshape(1), source.reshape(-1)
    dim = _dim(dim, x.ndim, op)
    n = x.shape[dim]
    wanted = x.shape[:dim] + (index.size,) + x.shape[dim + 1 :]
    if source.shape != wanted:
        raise ShapeError(
            f"{op}: source of shape {source.shape} does not fit input {x.shape} with "
            f"{index.size} indices along dim {dim}; expected {wanted}"
        )
    if index.size and (index.min() < 0 or index.max() >= n):  # PyTorch counts no index from
        bad = int(index.min() if index.min() < 0 else index.max())  # the end here
        raise IndexOutOfRangeError(
            f"{op}: index {bad} is out of bounds for dim {dim} of size {n}; indices must be in "
            f"[0, {n}), as in PyTorch"
        )
    return x, dim, index, source, scalar


def index_add(input, dim: int, index, source, *, alpha=1) -> Tensor:  # noqa: A002 - PyTorch's
    """A copy of ``input`` with ``alpha * source`` added to the slices at ``index`` along ``dim``
    (slices named twice get both), as ``torch.index_add``.

    Example:
        >>> import chainrule as cr
        >>> cr.index_add(cr.zeros(3), 0, cr.tensor([0, 2, 0]), cr.tensor([1.0, 2.0, 3.0])).tolist()
        [4.0, 0.0, 2.0]
    """
    x0 = operand(input)
    x, dim, index, source, scalar = _index_source(x0, dim, index, source, "index_add")
    out = IndexAdd.apply(x, source, dim=dim, index=index, alpha=alpha)
    return out.reshape(()) if scalar else out


def index_copy(input, dim: int, index, source) -> Tensor:  # noqa: A002
    """A copy of ``input`` with the slices at ``index`` along ``dim`` replaced by ``source``'s,
    as ``torch.index_copy``."""
    x0 = operand(input)
    x, dim, index, source, scalar = _index_source(x0, dim, index, source, "index_copy")
    out = IndexCopy.apply(x, source, dim=dim, index=index)
    return out.reshape(()) if scalar else out


def index_fill(input, dim: int, index, value) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``value`` in the slices at ``index`` along ``dim``, as
    ``torch.index_fill`` (``value`` a number or a 0-d tensor, which gets a gradient).

    Example:
        >>> import chainrule as cr
        >>> cr.index_fill(cr.zeros(2, 3), 1, cr.tensor([0, 2]), -1.0).tolist()
        [[-1.0, 0.0, -1.0], [-1.0, 0.0, -1.0]]
    """
    x = operand(input)
    index = _int_index(index, "index_fill")
    if index.ndim > 1:
        raise ShapeError(f"index_fill: index must be 0-d or 1-D, got shape {index.shape}")
    dim = _dim(dim, x.ndim, "index_fill")
    n = x.shape[dim] if x.ndim else 1
    if index.size and (index.min() < -n or index.max() >= n):
        raise IndexOutOfRangeError(f"index_fill: index out of range for dim {dim} of size {n}")
    mask = np.zeros(n, bool)
    mask[index.reshape(-1)] = True
    if x.ndim:
        mask = np.broadcast_to(mask.reshape((-1,) + (1,) * (x.ndim - dim - 1)), x.shape)
    else:
        mask = mask.reshape(())
    if isinstance(value, Tensor):
        if value.ndim != 0:
            raise ShapeError(
                f"index_fill: value must be a number or a 0-d tensor, got shape {value.shape}"
            )
        if value.dtype != x.dtype:
            value = value.to(x.dtype)
    else:
        value = Tensor._make(np.asarray(value).astype(x.dtype), False)
    return where(Tensor._make(mask, False), value, x)


def scatter_add(input, dim: int, index, src) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``src`` added at ``index`` along ``dim``:
    ``out[i][index[i][j]] += src[i][j]`` (dim=1), as ``torch.scatter_add``.

    Example:
        >>> import chainrule as cr
        >>> cr.scatter_add(cr.zeros(3), 0, cr.tensor([0, 0, 2]), cr.ones(3)).tolist()
        [2.0, 0.0, 1.0]
    """
    x, src = operand(input), operand(src)
    index = _int_index(index, "scatter_add")
    if src.dtype != x.dtype:
        raise DTypeError(
            f"scatter_add: input ({x.dtype}) and src ({src.dtype}) must have the same dtype"
        )
    if x.ndim == 0:
        return scatter_add(x.reshape(1), dim, index.reshape(-1), src.reshape(-1)).reshape(())
    dim = _dim(dim, x.ndim, "scatter_add")
    if index.ndim != x.ndim or src.ndim != x.ndim:
        raise ShapeError(
            f"scatter_add: index ({index.ndim}-D), src ({src.ndim}-D) and input ({x.ndim}-D) "
            f"must have the same number of dimensions"
        )
    if any(i > s for i, s in zip(index.shape, src.shape)) or any(
        i > n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != dim
    ):
        raise ShapeError(
            f"scatter_add: index of shape {index.shape} is larger than src {src.shape} or "
            f"input {x.shape} (outside dim {dim})"
        )
    if index.size and (index.min() < 0 or index.max() >= x.shape[dim]):
        raise ShapeError(f"scatter_add: index out of range for dim {dim} of size {x.shape[dim]}")
    return ScatterAdd.apply(x, src, dim=dim, index=index)
