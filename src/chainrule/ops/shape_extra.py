"""More of PyTorch's shape functions, composed of the shape ops (so their gradients are those
ops' gradients): unbind, narrow, movedim, unflatten, tensor_split, hstack, vstack, fliplr,
flipud, atleast_1d/2d/3d and take_along_dim."""

from __future__ import annotations

import numpy as np

from chainrule.errors import IndexOutOfRangeError, ShapeError
from chainrule.ops._util import operand
from chainrule.ops.getitem import GetItem, getitem
from chainrule.ops.shape import _one_axis, cat, flip, permute, reshape
from chainrule.tensor import Tensor


# The pieces of split, chunk and unbind: basic indexing each, under PyTorch's grad_fn names.
class Split(GetItem):
    """A piece of ``split(x, size)`` or ``chunk``: PyTorch's ``SplitBackward0``."""


class SplitWithSizes(GetItem):
    """A piece of ``split(x, [sizes])``: PyTorch's ``SplitWithSizesBackward0``."""


class Unbind(GetItem):
    """A slice of ``unbind(x, dim)``: PyTorch's ``UnbindBackward0``."""


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _along(axis: int, part) -> tuple:
    return (slice(None),) * axis + (part,)


def split(x, split_size_or_sections, axis=0, *, dim=None) -> tuple:
    """Split into pieces of a given size (int) or of the given sizes (list), as in PyTorch: a
    tuple of tensors, the last one smaller when the size does not divide the length."""
    x = operand(x)
    axis = _one_axis(x, dim if dim is not None else axis, "split")
    n = x.array.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        if split_size_or_sections <= 0:
            raise ValueError(
                f"split: the piece size must be a positive integer, got {split_size_or_sections}"
            )
        sizes = [split_size_or_sections] * (n // split_size_or_sections)
        if n % split_size_or_sections or not n:  # an empty axis is one empty piece, as PyTorch
            sizes.append(n % split_size_or_sections)
    else:
        sizes = list(split_size_or_sections)
        if any(size < 0 for size in sizes):  # a negative size would slice from the end
            raise ShapeError(
                f"split: the sizes must be non-negative, got {sizes}, as in PyTorch; give each "
                f"piece's length along axis {axis}, adding up to {n}"
            )
        if sum(sizes) != n:
            raise ShapeError(f"split sizes {sizes} do not add up to {n} along axis {axis}")
    op = Split if isinstance(split_size_or_sections, (int, np.integer)) else SplitWithSizes
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * axis + (slice(start, start + size),)
        pieces.append(op.apply(x, index=index, advanced=False))
        start += size
    return tuple(pieces)


def chunk(x, chunks: int, axis=0, *, dim=None) -> tuple:
    """Split into ``chunks`` pieces of ⌈n / chunks⌉ along an axis (fewer when that size already
    covers the axis), as ``torch.chunk``: a tuple of tensors.

    Example:
        >>> import chainrule as cr
        >>> [p.shape for p in cr.chunk(cr.zeros(5, 2), 3)]
        [(2, 2), (2, 2), (1, 2)]
    """
    if isinstance(chunks, bool) or not isinstance(chunks, (int, np.integer)) or chunks <= 0:
        raise ValueError(f"chunk: chunks must be a positive integer, got {chunks!r}")
    x = operand(x)
    axis = _one_axis(x, dim if dim is not None else axis, "chunk")
    n = x.array.shape[axis]
    if n == 0:  # PyTorch: one empty piece per chunk
        return tuple(getitem(x, (slice(None),) * axis + (slice(0, 0),)) for _ in range(chunks))
    return split(x, -(-n // chunks), axis)


def unbind(input, dim: int = 0) -> tuple:  # noqa: A002 - PyTorch's names
    """The slices along ``dim``, each without that dimension, as a tuple.

    Example:
        >>> import chainrule as cr
        >>> [t.tolist() for t in cr.unbind(cr.tensor([[1, 2], [3, 4]]), 1)]
        [[1, 3], [2, 4]]
    """
    x = operand(input)
    axis = _one_axis(x, dim, "unbind")
    return tuple(
        Unbind.apply(x, index=_along(axis, i), advanced=False) for i in range(x.shape[axis])
    )


def narrow(input, dim: int, start, length: int) -> Tensor:  # noqa: A002
    """``length`` elements along ``dim`` from ``start`` (negative counts from the end).

    Example:
        >>> import chainrule as cr
        >>> cr.narrow(cr.tensor([1, 2, 3, 4]), 0, 1, 2).tolist()
        [2, 3]
    """
    x = operand(input)
    axis = _one_axis(x, dim, "narrow")
    n = x.shape[axis]
    start = int(start.item() if isinstance(start, Tensor) else start)
    if not -n <= start <= n:
        raise ShapeError(f"narrow: start {start} is out of range for dimension {dim} of size {n}")
    if start < 0:
        start += n
    if length < 0 or start + length > n:
        raise ShapeError(
            f"narrow: start ({start}) + length ({length}) exceeds dimension {dim} of size {n}"
        )
    return getitem(x, _along(axis, slice(start, start + length)))


def _unfold_count(dim, size, step, n: int, op: str = "unfold") -> int:
    """How many windows of ``size`` every ``step`` fit in ``n``; PyTorch's checks first."""
    for name, v in (("size", size), ("step", step)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"{op}(): argument '{name}' must be int, not {type(v).__name__}")
    if size < 0:
        raise ShapeError(f"{op}: size is {size} but must be >= 0")
    if step <= 0:
        raise ShapeError(f"{op}: step is {step} but must be > 0")
    if size > n:
        raise ShapeError(
            f"{op}: maximum size for tensor at dimension {dim} is {n} but size is {size}"
        )
    return (n - size) // step + 1


def unfold(input, dimension: int, size: int, step: int) -> Tensor:  # noqa: A002
    """``Tensor.unfold``: every window of ``size`` elements taken ``step`` apart along
    ``dimension``; that dimension becomes the window count and a new last dimension of
    ``size`` holds each window (a copy here, a view in PyTorch).

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([1, 2, 3, 4, 5]).unfold(0, 2, 2).tolist()
        [[1, 2], [3, 4]]
    """
    x = operand(input)
    if x.ndim == 0:  # PyTorch reads a 0-d tensor as one element: the result is (size,)
        if dimension not in (0, -1):
            _one_axis(reshape(x, (1,)), dimension, "unfold")
        _unfold_count(dimension, size, step, 1)
        return getitem(reshape(x, (1,)), slice(0, size))
    axis = _one_axis(x, dimension, "unfold")
    count = _unfold_count(axis, size, step, x.shape[axis])
    where = np.arange(count)[:, None] * step + np.arange(size)[None, :]
    out = getitem(x, _along(axis, where))  # axis -> (count, size)
    order = [*range(axis + 1), *range(axis + 2, out.ndim), axis + 1]
    return permute(out, *order)


def select(input, dim: int, index: int) -> Tensor:  # noqa: A002
    """The slice at ``index`` along ``dim``, without that dimension: ``x.select(1, i)`` is
    ``x[:, i]`` (a view, as PyTorch's).

    Example:
        >>> import chainrule as cr
        >>> cr.select(cr.tensor([[1, 2], [3, 4]]), 1, -1).tolist()
        [2, 4]
    """
    x = operand(input)
    axis = _one_axis(x, dim, "select")
    n = x.shape[axis]
    index = int(index.item() if isinstance(index, Tensor) else index)
    if not -n <= index < n:
        raise IndexOutOfRangeError(
            f"select(): index {index} out of range for tensor of size {list(x.shape)} at "
            f"dimension {dim}"
        )
    return getitem(x, _along(axis, index))


def movedim(input, source, destination) -> Tensor:  # noqa: A002
    """Move dimension(s) ``source`` to position(s) ``destination``; the others keep their order.

    Example:
        >>> import chainrule as cr
        >>> cr.movedim(cr.zeros(2, 3, 4), 0, -1).shape
        (3, 4, 2)
    """
    x = operand(input)
    src = (source,) if _is_int(source) else tuple(source)
    dst = (destination,) if _is_int(destination) else tuple(destination)
    if len(src) != len(dst):
        raise ValueError(
            f"movedim: source {source} and destination {destination} must name as many dims"
        )
    ndim = max(x.ndim, 1)
    src = [_one_axis(x, d, "movedim") if x.ndim else _zero_dim(d) for d in src]
    dst = [_one_axis(x, d, "movedim") if x.ndim else _zero_dim(d) for d in dst]
    if len(set(src)) != len(src) or len(set(dst)) != len(dst):
        raise ValueError(f"movedim: repeated dim in source {source} or destination {destination}")
    if x.ndim == 0:
        return reshape(x, ())
    rest = iter(d for d in range(ndim) if d not in src)
    where = dict(zip(dst, src))
    return permute(x, *(where[i] if i in where else next(rest) for i in range(ndim)))


def _zero_dim(d) -> int:
    if d not in (0, -1):
        raise ShapeError(f"movedim: dim {d} is out of range for a 0-d tensor")
    return 0


moveaxis = movedim


def swapdims(input, dim0: int, dim1: int) -> Tensor:  # noqa: A002
    """``torch.swapdims``: the same as ``transpose(input, dim0, dim1)``."""
    from chainrule.ops.shape import swapaxes

    return swapaxes(input, dim0, dim1)


def unflatten(input, dim: int, sizes) -> Tensor:  # noqa: A002
    """Split dimension ``dim`` into ``sizes`` (one of them may be -1).

    Example:
        >>> import chainrule as cr
        >>> cr.unflatten(cr.zeros(2, 6), 1, (2, 3)).shape
        (2, 2, 3)
    """
    x = operand(input)
    axis = _one_axis(x, dim, "unflatten")
    sizes = [int(s) for s in sizes]
    if not sizes:
        raise ValueError("unflatten: sizes must not be empty")
    n = x.shape[axis]
    if sizes.count(-1) > 1:
        raise ShapeError("unflatten: only one of the sizes can be -1")
    if -1 in sizes:
        known = int(np.prod([s for s in sizes if s != -1]))
        if known == 0 or n % known:
            raise ShapeError(f"unflatten: sizes {tuple(sizes)} do not fit dimension of size {n}")
        sizes[sizes.index(-1)] = n // known
    if int(np.prod(sizes)) != n:
        raise ShapeError(
            f"unflatten: sizes {tuple(sizes)} don't multiply up to the size of dim {dim} ({n})"
        )
    return reshape(x, *x.shape[:axis], *sizes, *x.shape[axis + 1 :])


def tensor_split(input, indices_or_sections, dim: int = 0) -> tuple:  # noqa: A002
    """Split into ``n`` nearly equal pieces (the first ``size % n`` one longer), or at the given
    indices, as ``torch.tensor_split`` (pieces may be empty; indices are clamped as slices).

    Example:
        >>> import chainrule as cr
        >>> [t.tolist() for t in cr.tensor_split(cr.arange(5), 2)]
        [[0, 1, 2], [3, 4]]
    """
    x = operand(input)
    if x.ndim == 0:
        raise ShapeError("tensor_split: needs a tensor with at least 1 dimension")
    axis = _one_axis(x, dim, "tensor_split")
    split = indices_or_sections
    if isinstance(split, Tensor):
        if split.dtype.kind not in "iu" or split.ndim > 1:
            raise TypeError("tensor_split: a tensor of indices must be a 0-d or 1-d int64 tensor")
        split = split.item() if split.ndim == 0 else split.tolist()
    n = x.shape[axis]
    if _is_int(split):
        if split <= 0:
            raise ValueError(f"tensor_split: number of sections must be > 0, got {split}")
        size, extra = divmod(n, int(split))
        bounds = [i * size + min(i, extra) for i in range(1, int(split))]
    else:
        bounds = [int(i) for i in split]
    edges = [0, *bounds, n]
    return tuple(getitem(x, _along(axis, slice(a, b))) for a, b in zip(edges[:-1], edges[1:]))


def _tensor_args(tensors) -> tuple:
    if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)):
        return tuple(tensors[0]), True
    return tensors, len(tensors) != 1


def _atleast(ndim: int, tensors) -> Tensor | tuple:
    items, many = _tensor_args(tensors)
    out = []
    for t in items:
        t = operand(t)
        if t.ndim >= ndim:
            out.append(t)
        elif ndim == 3 and t.ndim == 2:
            out.append(reshape(t, *t.shape, 1))
        elif ndim == 3 and t.ndim == 1:
            out.append(reshape(t, 1, *t.shape, 1))
        else:
            out.append(reshape(t, *(1,) * (ndim - t.ndim), *t.shape))
    return tuple(out) if many else out[0]


def atleast_1d(*tensors):
    """Each tensor with at least 1 dimension (a 0-d one becomes shape (1,)); one tensor in,
    one out, else a tuple."""
    return _atleast(1, tensors)


def atleast_2d(*tensors):
    """Each tensor with at least 2 dimensions (new leading dimensions of size 1)."""
    return _atleast(2, tensors)


def atleast_3d(*tensors):
    """Each tensor with at least 3 dimensions: (n,) becomes (1, n, 1), (m, n) becomes
    (m, n, 1), as NumPy's and PyTorch's ``atleast_3d``."""
    return _atleast(3, tensors)


def hstack(tensors) -> Tensor:
    """Join along the columns: along dim 0 for 1-D tensors, else dim 1 (0-d become 1-D)."""
    parts = [atleast_1d(t) for t in tensors]
    return cat(parts, 0 if parts and parts[0].ndim == 1 else 1)


def vstack(tensors) -> Tensor:
    """Join along the rows (dim 0), 0-d and 1-D tensors becoming rows first."""
    return cat([atleast_2d(t) for t in tensors], 0)


row_stack = vstack


def fliplr(input) -> Tensor:  # noqa: A002
    """Reverse the columns (dim 1) of a tensor with at least 2 dimensions."""
    x = operand(input)
    if x.ndim < 2:
        raise ShapeError(f"fliplr: needs at least 2 dimensions, got shape {x.shape}")
    return flip(x, 1)


def flipud(input) -> Tensor:  # noqa: A002
    """Reverse the rows (dim 0) of a tensor with at least 1 dimension."""
    x = operand(input)
    if x.ndim < 1:
        raise ShapeError("flipud: needs at least 1 dimension, got a 0-d tensor")
    return flip(x, 0)


def take_along_dim(input, indices, dim: int | None = None) -> Tensor:  # noqa: A002
    """Pick values at ``indices`` along ``dim``, broadcasting the other dimensions, as
    ``torch.take_along_dim`` (NumPy's ``take_along_axis``); with ``dim=None`` both are
    flattened first. Differentiable in ``input``.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([[10, 30, 20], [60, 40, 50]])
        >>> cr.take_along_dim(x, x.argmax(1, keepdim=True), 1).tolist()
        [[30], [60]]
    """
    from chainrule.ops.indexing import gather
    from chainrule.ops.shape import broadcast_to

    x = operand(input)
    index = operand(indices)
    if index.dtype != np.int64:  # PyTorch takes Long indices only (gather does too)
        raise TypeError(
            f"take_along_dim: indices must be int64, got dtype {index.dtype}; convert them "
            f"with .long()"
        )
    if dim is None:
        return gather(reshape(x, -1), 0, reshape(index, -1))
    if x.ndim != index.ndim:
        raise ShapeError(
            f"take_along_dim: input and indices must have the same number of dimensions, got "
            f"{x.ndim} and {index.ndim}"
        )
    axis = _one_axis(x, dim, "take_along_dim")
    try:
        common = list(
            np.broadcast_shapes(
                x.shape[:axis] + (1,) + x.shape[axis + 1 :],
                index.shape[:axis] + (1,) + index.shape[axis + 1 :],
            )
        )
    except ValueError:
        raise ShapeError(
            f"take_along_dim: shapes {x.shape} and {index.shape} do not broadcast outside dim {dim}"
        ) from None
    x_shape = tuple(common[:axis] + [x.shape[axis]] + common[axis + 1 :])
    index_shape = tuple(common[:axis] + [index.shape[axis]] + common[axis + 1 :])
    if x.shape != x_shape:
        x = broadcast_to(x, x_shape)
    if index.shape != index_shape:
        index = Tensor._make(np.broadcast_to(index.array, index_shape), False)
    return gather(x, axis, index)
