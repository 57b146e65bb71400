"""Indexing, selection and scan ops with PyTorch's signatures: gather, scatter, index_select,
masked_fill, one_hot, PyTorch-style pad, cumsum, prod, and ``where`` with one argument.

Each op is one class with its forward and local derivative side by side. Index arguments are
integer arrays that get no gradient.
"""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.autograd.function import Function
from chainrule.errors import (
    ArgumentError,
    DimensionError,
    DTypeError,
    IndexOutOfRangeError,
    ShapeError,
)
from chainrule.ops import shape as _shape
from chainrule.ops._util import (
    check_dim_type,
    check_int,
    in_dtype_of,
    no_bool_running,
    operand,
    to_result_dtype,
)
from chainrule.ops.getitem import GetItem, PlaceAt
from chainrule.tensor import Tensor


def _int_index(index, op: str) -> np.ndarray:
    array = index.array if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"{op} needs an integer index tensor (int64), got dtype {array.dtype}")
    return array.astype(np.int64, copy=False)


def _dim(dim: int, ndim: int, op: str) -> int:
    dim = check_dim_type(dim, dim, op)
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise DimensionError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % max(ndim, 1)


def _along(index: np.ndarray, dim: int) -> tuple:
    """The full fancy index that picks ``x[..., index[...], ...]`` along ``dim`` per position."""
    grid = list(np.indices(index.shape, sparse=True))
    grid[dim] = index
    return tuple(grid)


class Gather(Function):
    """out[i][j] = x[i][index[i][j]] (for dim=1)."""

    label = "gather"
    formulas = ("1 at the gathered positions (summed where picked twice)",)

    def forward(self, x, dim, index):
        self.where = _along(index, dim)
        self.x_shape, self.dtype = x.shape, x.dtype
        return x[self.where]

    def backward(self, grad):
        grad_x = np.zeros(self.x_shape, self.dtype)
        np.add.at(grad_x, self.where, grad)
        return (grad_x,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (PlaceAt.apply(grad, shape=self.x_shape, index=self.where, advanced=True),)


class Scatter(Function):
    """out = x, then out[i][index[i][j]] = src[i][j] (for dim=1)."""

    label = "scatter"
    formulas = ("1 where not overwritten", "1 at the written positions")

    def forward(self, x, src, dim, index):
        self.where = _along(index, dim)
        self.src_part = tuple(slice(0, n) for n in index.shape)
        self.src_shape = src.shape
        out = x.copy()
        out[self.where] = src[self.src_part] if src.ndim else src
        return out

    def backward(self, grad):
        grad_x = grad_src = None
        if self.needs_grad[0]:
            grad_x = grad.copy()
            grad_x[self.where] = 0
        if self.needs_grad[1]:
            grad_src = np.zeros(self.src_shape, grad.dtype)
            if len(self.src_shape):
                grad_src[self.src_part] = grad[self.where]
            else:
                grad_src = np.asarray(grad[self.where].sum(), grad.dtype)
        return grad_x, grad_src

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        written = np.zeros(grad.shape, dtype=bool)
        written[self.where] = True
        grad_x = _elementwise.where(written, 0, grad)
        picked = GetItem.apply(grad, index=self.where, advanced=True)
        if not self.src_shape:
            return grad_x, picked.sum()
        shape, part = self.src_shape, self.src_part
        return grad_x, PlaceAt.apply(picked, shape=shape, index=part, advanced=False)


class IndexSelect(Function):
    label = "index_select"
    formulas = ("1 at the selected slices (summed where selected twice)",)

    def forward(self, x, dim, index):
        self.dim, self.index = dim, index
        self.x_shape, self.dtype = x.shape, x.dtype
        return np.take(x, index, axis=dim)

    def backward(self, grad):
        grad_x = np.zeros(self.x_shape, self.dtype)
        np.add.at(grad_x, (slice(None),) * self.dim + (self.index,), grad)
        return (grad_x,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        index = (slice(None),) * self.dim + (self.index,)
        return (PlaceAt.apply(grad, shape=self.x_shape, index=index, advanced=True),)


class MaskedFill(Function):
    label = "masked_fill"
    formulas = ("0 where mask else 1",)

    def forward(self, x, mask, value):
        self.mask = mask
        return np.where(mask, np.asarray(value, x.dtype), x)

    def backward(self, grad):
        return (np.where(self.mask, np.zeros((), grad.dtype), grad),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (_elementwise.where(self.mask, 0, grad),)


class CumSum(Function):
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "cumsum"
    formulas = ("reverse cumulative sum of the upstream gradient",)

    def forward(self, x, dim):
        self.dim = dim
        return _running_sum(x, dim)

    def backward(self, grad):
        flipped = np.flip(grad, self.dim)
        return (np.flip(_running_sum(flipped, self.dim), self.dim),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        flipped = _shape.flip(grad, (self.dim,))
        return (_shape.flip(CumSum.apply(flipped, dim=self.dim), (self.dim,)),)


def _running_sum(a: np.ndarray, axis: int) -> np.ndarray:
    # PyTorch adds float16/float32 in float64 and rounds each running sum once: the same bits
    # (NumPy's float32 running sum of a million 0.1s is 1 % off)
    if a.dtype.kind == "f" and a.dtype.itemsize < 8:
        return np.cumsum(a, axis=axis, dtype=np.float64).astype(a.dtype)
    return np.cumsum(a, axis=axis)


class Prod(Function):
    """The product along ``dim`` (all elements when ``dim`` is None)."""

    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)

    label = "prod"
    formulas = ("product of the other elements",)

    def forward(self, x, dim, keepdim):
        self.x, self.dim, self.keepdim = x, dim, keepdim
        return np.prod(x, axis=dim, keepdims=keepdim)

    def backward(self, grad):
        x, dim = self.x, self.dim
        if dim is None or x.ndim == 0:  # a 0-d tensor's dim 0 is all of it, as in PyTorch
            flat = x.reshape(-1)
            others = _others_product(flat, 0).reshape(x.shape)
            return (grad * others,)
        if not self.keepdim:
            grad = np.expand_dims(grad, dim)
        return (grad * _others_product(x, dim),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        x, dim = self.parents[0], self.dim
        if dim is None or x.ndim == 0:
            x, dim = x.reshape(-1), 0
        elif not self.keepdim:
            grad = grad.unsqueeze(dim)
        # others[i] = Π_j (1 if j = i else x[j]): a product along a second copy of the axis
        n = x.shape[dim]
        diagonal = np.eye(n, dtype=bool).reshape((1,) * dim + (n, n) + (1,) * (x.ndim - dim - 1))
        spread = _elementwise.where(diagonal, 1, x.unsqueeze(dim))
        others = Prod.apply(spread, dim=dim + 1, keepdim=False)
        return (grad * others.reshape(self.x.shape),)


def _others_product(x: np.ndarray, axis: int) -> np.ndarray:
    """For each element, the product of the others along ``axis`` (exact with zeros)."""
    if x.shape[axis] == 0:  # no elements: no gradients (the product of nothing is 1)
        return np.zeros_like(x)
    ones = np.ones_like(np.take(x, [0], axis=axis))
    before = np.cumprod(np.concatenate([ones, x], axis=axis), axis=axis)
    before = np.delete(before, -1, axis=axis)
    flipped = np.flip(x, axis)
    after = np.cumprod(np.concatenate([ones, flipped], axis=axis), axis=axis)
    after = np.flip(np.delete(after, -1, axis=axis), axis)
    return before * after


# ---- functions ------------------------------------------------------------------------------
def gather(input, dim: int, index) -> Tensor:  # noqa: A002 - PyTorch's names
    """Pick values along ``dim`` at ``index``: ``out[i][j] = input[i][index[i][j]]`` (dim=1).

    Shape:
        index: same number of dimensions as ``input``; output has ``index``'s shape.

    Example:
        >>> import chainrule as cr
        >>> cr.gather(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), 1, cr.tensor([[1], [0]])).tolist()
        [[2.0], [3.0]]
    """
    x = operand(input)
    index = _int_index(index, "gather")
    dim = _dim(dim, x.ndim, "gather")
    if x.ndim == 0 and index.ndim == 0:  # PyTorch reads a 0-d input and index as one element
        return gather(x.reshape(1), 0, index.reshape(1)).reshape(())
    if index.ndim != x.ndim:
        raise ShapeError(
            f"gather: index has {index.ndim} dimensions but input has {x.ndim}; they must match"
        )
    if index.size and index.min() < 0:  # NumPy would count from the end; PyTorch refuses
        raise ShapeError(
            f"gather: index {int(index.min())} is out of bounds for dimension {dim} of input "
            f"shape {x.shape}; indices must be in [0, {x.shape[dim] if x.ndim else 1})"
        )
    try:
        return Gather.apply(x, dim=dim, index=index)
    except IndexError as err:
        raise ShapeError(
            f"gather: index out of range for input of shape {x.shape}: {err}"
        ) from None


def scatter(input, dim: int, index, src=None, *, value=None, reduce=None) -> Tensor:  # noqa: A002
    """A copy of ``input`` with ``src`` (or the number ``value``) written at ``index``;
    with ``reduce='add'`` or ``'multiply'`` added or multiplied in instead, as PyTorch's (which
    has no derivative for that form: ``scatter_reduce`` has).

    Example:
        >>> import chainrule as cr
        >>> cr.scatter(cr.zeros(2, 3), 1, cr.tensor([[2], [0]]), value=1.0).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    x = operand(input)
    if src is None and value is None:
        raise TypeError("scatter() needs src= (a tensor) or value= (a number)")
    if reduce is not None:  # PyTorch's older spelling of scatter_reduce (no derivative)
        from chainrule.ops.scatter_reduce import scatter_with_reduce

        return scatter_with_reduce(x, dim, index, value if src is None else src, reduce)
    if isinstance(src, Tensor) and src.dtype != x.dtype:  # PyTorch refuses rather than casts
        raise DTypeError(
            f"scatter(): Expected self.dtype to be equal to src.dtype, got input {x.dtype} and "
            f"src {src.dtype}; convert one, e.g. src.to(input.dtype)"
        )
    if src is None or not isinstance(src, Tensor):
        src = Tensor._make(np.asarray(value if src is None else src, x.dtype), False)
    index = _int_index(index, "scatter")
    dim = _dim(dim, x.ndim, "scatter")
    if x.ndim == 0 and index.ndim == 0 and src.array.size:  # one element, as PyTorch reads it
        return scatter(x.reshape(1), 0, index.reshape(1), src.reshape(-1)[:1]).reshape(())
    if index.ndim != x.ndim:
        raise ShapeError(f"scatter: index has {index.ndim} dimensions but input has {x.ndim}")
    _check_scatter_sizes(x.shape, src.shape, index, dim)
    try:
        return Scatter.apply(x, src, dim=dim, index=index)
    except IndexError as err:
        raise ShapeError(
            f"scatter: index out of range for input of shape {x.shape}: {err}"
        ) from None


def _check_scatter_sizes(shape: tuple, src_shape: tuple, index: np.ndarray, dim: int) -> None:
    """PyTorch's limits on scatter's index: no larger than src (a tensor src), nor than the
    input outside ``dim``, and no negative positions (NumPy would count from the end)."""
    too_big = src_shape and any(i > n for i, n in zip(index.shape, src_shape))
    if too_big or any(i > n for d, (i, n) in enumerate(zip(index.shape, shape)) if d != dim):
        raise ShapeError(
            f"scatter: index of shape {index.shape} is larger than src {src_shape} or input "
            f"{shape} (outside dim {dim}), which PyTorch refuses"
        )
    if index.size and index.min() < 0:
        raise IndexOutOfRangeError(
            f"scatter: index {int(index.min())} is out of bounds for dimension {dim} with size "
            f"{shape[dim] if shape else 1}; indices must be in [0, size), as in PyTorch"
        )


def index_select(input, dim: int, index) -> Tensor:  # noqa: A002
    """The slices of ``input`` along ``dim`` at the 1-D ``index``, in that order.

    Example:
        >>> import chainrule as cr
        >>> cr.index_select(cr.tensor([[1, 2], [3, 4], [5, 6]]), 0, cr.tensor([2, 0])).tolist()
        [[5, 6], [1, 2]]
    """
    x = operand(input)
    index = _int_index(index, "index_select")
    if index.ndim > 1:
        raise ShapeError(f"index_select needs a 1-D index, got shape {index.shape}")
    dim = _dim(dim, x.ndim, "index_select")
    n = x.shape[dim] if x.ndim else 1
    if x.ndim == 0 and index.size != 1:  # PyTorch's rule: a scalar gives only one value
        raise IndexOutOfRangeError(
            f"index_select(): Index to scalar can have only 1 value, got {index.size} value(s)"
        )
    if x.ndim == 0:  # and the result is a scalar too
        return index_select(x.reshape(1), 0, index.reshape(1)).reshape(())
    if index.size and (index.min() < 0 or index.max() >= n):  # no counting from the end
        raise IndexOutOfRangeError(
            f"index_select: index {int(index.min() if index.min() < 0 else index.max())} is out "
            f"of range for dim {dim} of size {n}; indices must be in [0, {n}), as in PyTorch"
        )
    return IndexSelect.apply(x, dim=dim, index=index.reshape(-1))


def masked_fill(input, mask, value) -> Tensor:  # noqa: A002
    """``input`` with ``value`` wherever the bool ``mask`` (broadcast to it) is true.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([1.0, 2.0, 3.0])
        >>> cr.masked_fill(x, x > 1.5, 0.0).tolist()
        [1.0, 0.0, 0.0]
    """
    x = operand(input)
    m = mask.array if isinstance(mask, Tensor) else np.asarray(mask)
    if m.dtype != np.bool_:
        raise DTypeError(f"masked_fill needs a bool mask, got dtype {m.dtype}; compare first")
    try:
        shape = np.broadcast_shapes(m.shape, x.shape)
    except ValueError:
        raise ShapeError(
            f"masked_fill: mask of shape {m.shape} does not broadcast with input {x.shape}"
        ) from None
    if shape != x.shape:  # PyTorch's out-of-place masked_fill takes the broadcast shape
        x = _shape.broadcast_to(x, shape)
    if isinstance(value, Tensor):
        if value.array.ndim != 0:
            raise ShapeError(
                f"masked_fill needs a number or a 0-dimensional value tensor, got shape "
                f"{value.array.shape}"
            )
        if value.requires_grad:  # its gradient: the sum of the gradients where it went in
            from chainrule.ops.elementwise import where

            return where(np.broadcast_to(m, x.shape), value, x)
        value = value.item()
    value = _dtype.checked_scalar(value, x.array.dtype)  # PyTorch's range check (300.0 in uint8)
    return MaskedFill.apply(x, mask=m, value=value)


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """Class indices to one-hot rows (int64), as ``torch.nn.functional.one_hot``.

    Example:
        >>> import chainrule as cr
        >>> cr.one_hot(cr.tensor([0, 2]), 3).tolist()
        [[1, 0, 0], [0, 0, 1]]
    """
    labels = _int_index(tensor, "one_hot")
    num_classes = check_int(num_classes, "num_classes", "one_hot")  # 2.5 gave 3 columns
    if labels.size and labels.min() < 0:
        raise IndexOutOfRangeError(  # a ValueError and PyTorch's RuntimeError
            f"one_hot: class values must be non-negative, got {labels.min()}"
        )
    if num_classes < 0 and not labels.size:  # a class count of 0 would be a guess
        raise ArgumentError(
            "one_hot: cannot infer the number of classes from an empty tensor (as PyTorch "
            "says); pass num_classes"
        )
    if num_classes < 0:
        num_classes = int(labels.max()) + 1
    elif labels.size and labels.max() >= num_classes:
        raise IndexOutOfRangeError(
            f"one_hot: class values must be smaller than num_classes={num_classes}, got "
            f"{labels.max()}"
        )
    out = (labels[..., None] == np.arange(num_classes)).astype(np.int64)
    return Tensor._make(out, False)


def pad(input, pad, mode: str = "constant", value=None) -> Tensor:  # noqa: A002
    """PyTorch's ``F.pad``: ``pad`` lists (before, after) pairs from the LAST dimension back.

    ``pad=(1, 2)`` pads the last dimension by 1 before and 2 after; ``(1, 1, 2, 2)`` also the
    one before it by 2. (``chainrule.pad`` takes NumPy's per-axis pairs instead.)

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.pad(cr.ones(1, 2), (1, 0)).tolist()
        [[0.0, 1.0, 1.0]]
    """
    from chainrule.ops.pad_modes import MODES, crop_negative, pad_by_mode

    x = operand(input)
    if mode not in MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r}; use one of {MODES}")
    for at, p in enumerate(pad):  # int() would truncate 1.5 to 1; PyTorch refuses it
        if isinstance(p, bool) or not isinstance(p, (int, np.integer)):
            raise TypeError(
                f"pad(): argument 'pad' must be tuple of ints, but found element of type "
                f"{type(p).__name__} at pos {at}"
            )
    pad = [int(p) for p in pad]
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ShapeError(
            f"pad got {len(pad)} numbers for a tensor with {x.ndim} dimensions; give an even "
            f"number, at most 2 per dimension"
        )
    if mode != "constant":
        if value:  # PyTorch takes value=0 (or None) with these modes, nothing else
            raise ShapeError(f'pad: padding mode "{mode}" doesn\'t take in value argument')
        return pad_by_mode(x, pad, mode)
    if any(p < 0 for p in pad):
        x, pad = crop_negative(x, pad)
    width = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        width[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    return _shape.pad(x, width, 0.0 if value is None else value)


def cumsum(input, dim: int, *, dtype=None) -> Tensor:  # noqa: A002
    """Running sums along ``dim``, as ``torch.cumsum`` (float32 added in float64, as PyTorch;
    ``dtype`` converts the input first).

    Example:
        >>> import chainrule as cr
        >>> cr.cumsum(cr.tensor([1.0, 2.0, 3.0]), 0).tolist()
        [1.0, 3.0, 6.0]
    """
    x = operand(input)
    if dtype is not None:
        x = to_result_dtype(x, dtype, "cumsum")
        no_bool_running(x, "cumsum")
    elif x.array.dtype.kind in "bu":  # PyTorch: bool and unsigned sums are int64
        x = Tensor._make(x.array.astype(np.int64), False)
    if x.ndim == 0:
        _dim(dim, 0, "cumsum")
        result = CumSum.apply(x.reshape(1), dim=0).reshape(())
    else:
        result = CumSum.apply(x, dim=_dim(dim, x.ndim, "cumsum"))
    return result if dtype is None else in_dtype_of(result, x)


def prod(input, dim: int | None = None, keepdim: bool = False, *, dtype=None) -> Tensor:  # noqa: A002
    """The product of all elements, or along ``dim`` (exact gradients with zeros too;
    ``dtype`` converts the input first, as ``torch.prod``).

    Example:
        >>> import chainrule as cr
        >>> cr.prod(cr.tensor([[1.0, 2.0], [3.0, 4.0]]), 1).tolist()
        [2.0, 12.0]
    """
    x = operand(input)
    if dtype is not None:
        x = to_result_dtype(x, dtype, "prod")
    elif x.array.dtype.kind in "bu":  # PyTorch: bool and unsigned products are int64
        x = Tensor._make(x.array.astype(np.int64), False)
    if dim is not None:
        if isinstance(dim, (tuple, list)):  # PyTorch's prod takes one dim, not several
            raise TypeError(
                f"prod() takes one dim (an int), got {dim!r}, as torch.prod; reduce one "
                "dimension at a time (x.prod(1).prod(0)) or flatten them first"
            )
        dim = _dim(dim, x.ndim, "prod")
    result = Prod.apply(x, dim=dim, keepdim=bool(keepdim) and dim is not None)
    return result if dtype is None else in_dtype_of(result, x)


def nonzero_where(condition) -> tuple:
    """``torch.where(condition)``: the indices of the true elements, one tensor per dimension."""
    cond = condition.array if isinstance(condition, Tensor) else np.asarray(condition)
    cond = cond if cond.ndim else cond.reshape(1)  # PyTorch reads a 0-d condition as 1-D
    return tuple(Tensor._make(i.astype(np.int64), False) for i in np.nonzero(cond))


def where(condition, input=None, other=None) -> Tensor | tuple:  # noqa: A002
    """``where(cond, a, b)``: elements of ``a`` where ``cond`` holds, else of ``b``;
    ``where(cond)``: the indices of the true elements (PyTorch's one-argument form).

    Example:
        >>> import chainrule as cr
        >>> [i.tolist() for i in cr.where(cr.tensor([0, 3, 0, 5]) > 0)]
        [[1, 3]]
    """
    if input is None and other is None:
        return nonzero_where(condition)
    return _elementwise.where(condition, input, other)


from chainrule.ops import elementwise as _elementwise  # noqa: E402
