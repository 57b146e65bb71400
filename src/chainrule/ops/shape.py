"""Shape ops: they move numbers around, so their backward moves the gradient back."""

from __future__ import annotations

import numpy as np

from chainrule import _dtype
from chainrule.autograd.function import Function
from chainrule.autograd.grad_mode import inference_tensor
from chainrule.errors import DimensionError, ShapeError
from chainrule.ops._util import check_dim_type, normalize_axis, operand
from chainrule.tensor import Tensor


class Reshape(Function):
    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "reshape"
    formulas = ("1 (same numbers, new shape)",)

    def forward(self, x, shape):
        self.in_shape = x.shape
        return x.reshape(shape)

    def backward(self, grad):
        return (grad.reshape(self.in_shape),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad.reshape(self.in_shape),)


class Unsqueeze(Reshape):
    """``unsqueeze(x, dim)``: PyTorch's ``UnsqueezeBackward0``."""


class Squeeze(Reshape):
    """``squeeze(x)`` (every size-1 dim, ``SqueezeBackward0``); :class:`SqueezeDim` is
    ``squeeze(x, dim)`` (``SqueezeBackward1``), :class:`SqueezeDims` ``squeeze(x, (dims))``."""


class SqueezeDim(Squeeze):
    pass


class SqueezeDims(Squeeze):
    pass


class Permute(Function):
    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "permute"
    formulas = ("1 (same numbers, axes reordered)",)

    def forward(self, x, axes):
        self.axes = axes
        return np.transpose(x, axes)

    def backward(self, grad):
        return (np.transpose(grad, np.argsort(self.axes)),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad.permute(*[int(i) for i in np.argsort(self.axes)]),)


class Transpose(Permute):
    """Two axes swapped (``transpose(x, 0, 1)``, ``swapaxes``, ``mT``): PyTorch names it apart."""


class T(Permute):
    """``x.t()``: PyTorch's ``TBackward0``."""


class Expand(Function):
    """Broadcast to a larger shape; the engine sums the gradient back over stretched axes."""

    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)

    label = "expand"
    formulas = ("1 (summed over the broadcast axes)",)

    def forward(self, x, shape):
        return np.broadcast_to(x, shape)

    def backward(self, grad):
        return (grad,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad,)


class Concatenate(Function):
    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "cat"
    formulas = ("1 (each input gets its slice of the gradient)",)

    def forward(self, *arrays, axis):
        self.axis = axis
        self.bounds = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    def backward(self, grad):
        return tuple(np.split(grad, self.bounds, axis=self.axis))

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        edges = [0, *self.bounds, grad.shape[self.axis]]
        lead = (slice(None),) * self.axis
        return tuple(grad[(*lead, slice(a, b))] for a, b in zip(edges, edges[1:]))


class Stack(Function):
    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "stack"
    formulas = ("1 (each input gets its slice of the gradient)",)

    def forward(self, *arrays, axis):
        self.axis = axis
        return np.stack(arrays, axis=axis)

    def backward(self, grad):
        return tuple(np.moveaxis(grad, self.axis, 0))

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        lead = (slice(None),) * self.axis
        return tuple(grad[(*lead, i)] for i in range(grad.shape[self.axis]))


class Flip(Function):
    """The elements in reverse order along some axes: a copy, as PyTorch's flip (not a view)."""

    saves_inputs = False  # backward reads the axes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    grads_match_inputs = True
    label = "flip"
    formulas = ("1 (the same numbers, reversed back)",)

    def forward(self, x, axes):
        self.axes = axes
        return np.flip(x, axes).copy()

    def backward(self, grad):
        return (np.flip(grad, self.axes),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (flip(grad, self.axes),)


class Roll(Function):
    """The elements shifted cyclically along some axes (all, flattened, when none is given)."""

    saves_inputs = False  # backward reads the shifts only
    saves_tensors = False  # a second backward() may pass (Function.release)
    grads_match_inputs = True
    label = "roll"
    formulas = ("1 (the same numbers, shifted back)",)

    def forward(self, x, shifts, axes):
        self.shifts, self.axes = shifts, axes
        return np.roll(x, shifts, axes)

    def backward(self, grad):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (np.roll(grad, back, self.axes),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        return (Roll.apply(grad, shifts=back, axes=self.axes),)


class Repeat(Function):
    """The tensor tiled ``reps`` times along each axis (PyTorch's ``repeat``, NumPy's tile).
    Local derivative: 1 for every copy, so the gradient is the sum over the copies."""

    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    grads_match_inputs = True
    label = "repeat"
    formulas = ("1 (summed over the copies)",)

    def forward(self, x, reps):
        self.in_shape, self.reps = x.shape, reps
        return np.tile(x, reps)

    def backward(self, grad):
        shape = (1,) * (len(self.reps) - len(self.in_shape)) + self.in_shape
        split = [n for pair in zip(self.reps, shape) for n in pair]  # (r0, s0, r1, s1, ...)
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (summed.reshape(self.in_shape),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        shape = (1,) * (len(self.reps) - len(self.in_shape)) + self.in_shape
        split = [n for pair in zip(self.reps, shape) for n in pair]
        summed = grad.reshape(split).sum(axis=tuple(range(0, len(split), 2)))
        return (summed.reshape(self.in_shape),)


class Pad(Function):
    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "pad"
    formulas = ("1 inside, padding gets no gradient",)

    def forward(self, x, pad_width, value):
        self.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, constant_values=value)

    def backward(self, grad):
        return (grad[self.inner],)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad[self.inner],)


# ---- functions ------------------------------------------------------------------------------
def _shape_args(shape) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def reshape(x, *shape) -> Tensor:
    """The same numbers in a new shape (one dimension may be -1)."""
    return _reshaped(operand(x), _shape_args(shape), Reshape)


def _reshaped(x: Tensor, shape: tuple, op) -> Tensor:
    """``x`` in ``shape`` through ``op``: Reshape or one of the call forms PyTorch names apart."""
    if shape == x.array.shape and not x.requires_grad:
        # a new tensor over the same memory, as PyTorch's (a view: inference stays inference)
        return inference_tensor(Tensor._make(x.array, False), like=x)
    if shape and min(shape) < -1:  # NumPy reads any negative size as -1; PyTorch refuses it
        raise ShapeError(
            f"reshape: invalid shape dimension {min(shape)} in {shape}; only -1 is inferred"
        )
    try:  # (same shape, in the graph: a new non-leaf, so its hooks are its own)
        return op.apply(x, shape=shape)
    except (ValueError, TypeError):
        raise ShapeError(
            f"reshape cannot turn shape {x.shape} ({x.array.size} elements) into {shape}"
        ) from None


def view(x, *shape) -> Tensor:
    """``reshape`` that never copies, as PyTorch's ``view``: where the memory cannot take the
    shape without a copy (after a transpose, say) it raises, where a copy would silently not
    see later writes."""
    if len(shape) == 1 and not isinstance(shape[0], (int, np.integer, tuple, list)):
        raise ShapeError(
            f"view({shape[0]!r}): reinterpreting the bits as another dtype is not supported; "
            f"x.to(dtype) converts the values"
        )
    out = reshape(x, *shape)
    if out.array.size and not np.may_share_memory(out.array, operand(x).array):
        raise ShapeError(
            f"view{_shape_args(shape)}: a tensor of shape {operand(x).shape} laid out this way "
            f"(a transpose, a slice with steps) cannot take that shape without a copy; use "
            f".reshape(...) (or .contiguous().view(...)), as in PyTorch"
        )
    return out


def flatten(x, start_dim=0, end_dim=-1) -> Tensor:
    """Merge dimensions ``start_dim`` … ``end_dim`` into one (all of them by default)."""
    x = operand(x)
    shape = x.array.shape
    if not shape:
        for dim in (start_dim, end_dim):  # a 0-d tensor's one place is dim -1 or 0
            normalize_axis(None, dim, 0, "flatten")
        return reshape(x, 1)
    n = len(shape)
    start, end = (_dim_in(dim, n, "flatten") for dim in (start_dim, end_dim))
    if start > end:  # (the empty slice would insert a new axis of size 1)
        raise ShapeError(
            f"flatten: start_dim {start_dim} comes after end_dim {end_dim} for a tensor with "
            f"{n} dimensions; give start_dim <= end_dim"
        )
    merged = int(np.prod(shape[start : end + 1]))
    return reshape(x, *shape[:start], merged, *shape[end + 1 :])


def permute(x, *axes) -> Tensor:
    """Reorder the axes: ``permute(x, 2, 0, 1)``."""
    x = operand(x)
    axes = _shape_args(axes)
    # each in range first: a wrapped 5 would pass as dim 1 of a matrix
    wrapped = [check_dim_type(a, axes, "permute") % max(x.ndim, 1) for a in axes]
    if not all(-max(x.ndim, 1) <= a < max(x.ndim, 1) for a in axes):
        raise DimensionError(f"permute got axes {axes} for a tensor with {x.ndim} dimensions")
    if sorted(wrapped) != list(range(x.ndim)):
        raise ShapeError(f"permute got axes {axes} for a tensor with {x.ndim} dimensions")
    return Permute.apply(x, axes=tuple(a % x.ndim for a in axes))


def transpose(x, *axes) -> Tensor:
    """Reverse the axes (``x.T``), swap two (``transpose(x, 0, 1)``), or permute them all."""
    x = operand(x)
    axes = _shape_args(axes)
    if not axes:
        if x.ndim < 2:
            return reshape(x, *x.array.shape)  # a view, not x itself (PyTorch's .T of a vector)
        return Permute.apply(x, axes=tuple(reversed(range(x.ndim))))
    if len(axes) == 2:  # PyTorch's transpose(dim0, dim1): swap them (2-D included)
        return swapaxes(x, *axes)
    return permute(x, *axes)


def swapaxes(x, axis1, axis2) -> Tensor:
    x = operand(x)
    order = list(range(x.ndim))
    a, b = (normalize_axis(d, None, x.ndim, "swapaxes")[0] for d in (axis1, axis2))
    if x.ndim:  # (a single number's dims 0 and -1, which PyTorch allows, have nothing to swap)
        order[a], order[b] = order[b], order[a]
    return Transpose.apply(x, axes=tuple(order))


def broadcast_to(x, shape) -> Tensor:
    """Stretch size-1 (or missing leading) dimensions to ``shape``, as NumPy broadcasts."""
    x = operand(x)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)  # as torch
    try:
        np.broadcast_shapes(x.array.shape, shape)
        if np.broadcast_shapes(x.array.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ShapeError(f"expand cannot broadcast shape {x.shape} to {shape}") from None
    return Expand.apply(x, shape=shape)


def expand(x, *shape) -> Tensor:
    """PyTorch's expand: like broadcast_to, where -1 keeps a dimension's size."""
    x = operand(x)
    shape = list(_shape_args(shape))
    offset = len(shape) - x.ndim
    for i, n in enumerate(shape):
        if n == -1 and i < offset:  # NumPy's shape[-1] would answer with the wrong size
            raise ShapeError(
                f"expand: the expanded size of the tensor (-1) isn't allowed in a leading, "
                f"non-existing dimension {i} (PyTorch's rule); give that dimension's size"
            )
        if n == -1:
            shape[i] = x.array.shape[i - offset]
    return broadcast_to(x, shape)


def squeeze(x, axis=None, *, dim=None) -> Tensor:
    """Drop size-1 dimensions (all of them, or the given ones)."""
    x = operand(x)
    axes = normalize_axis(axis, dim, x.ndim, "squeeze")
    if axes is None:
        shape = tuple(n for n in x.array.shape if n != 1)
    else:
        shape = tuple(n for i, n in enumerate(x.array.shape) if not (i in axes and n == 1))
    given = dim if dim is not None else axis
    op = (
        Squeeze
        if given is None
        else SqueezeDims
        if isinstance(given, (tuple, list))
        else SqueezeDim
    )
    return _reshaped(x, shape, op)


def unsqueeze(x, axis=None, *, dim=None) -> Tensor:
    """Insert a size-1 dimension at ``axis``."""
    x = operand(x)
    axis = dim if dim is not None else axis
    if axis is None:
        raise TypeError("unsqueeze() needs an axis")
    axis = check_dim_type(axis, axis, "unsqueeze")
    if not -(x.ndim + 1) <= axis <= x.ndim:
        raise DimensionError(f"unsqueeze got axis {axis} for a tensor with {x.ndim} dimensions")
    axis = axis % (x.ndim + 1)
    return _reshaped(x, (*x.array.shape[:axis], 1, *x.array.shape[axis:]), Unsqueeze)


def _tensors(tensors, op) -> list:
    """The tensors to join, converted to one dtype by PyTorch's rules (float32 with int64 is
    float32; NumPy's concatenate would make float64). The conversions are differentiable."""
    tensors = [operand(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}() needs at least one tensor")
    arrays = [t.array for t in tensors]
    dtype = arrays[0].dtype
    for a in arrays[1:]:
        if a.dtype != dtype:
            dtype = _dtype.result_type(np.empty(1, dtype), np.empty(1, a.dtype))  # PyTorch's rule
    if any(a.dtype != dtype for a in arrays):
        tensors = [t if t.array.dtype == dtype else t.to(dtype) for t in tensors]
    return tensors


def cat(tensors, axis=0, *, dim=None) -> Tensor:
    """Join tensors along an existing axis."""
    tensors = _tensors(tensors, "cat")
    axis = dim if dim is not None else axis
    if any(t.shape == (0,) for t in tensors) and any(t.ndim > 1 for t in tensors):
        tensors = [t for t in tensors if t.shape != (0,)]  # PyTorch's: skip legacy empty 1-D
    first = tensors[0].array
    for position, t in enumerate(tensors):
        if t.ndim == 0:  # PyTorch's words
            msg = f"zero-dimensional tensor (at position {position}) cannot be concatenated"
            raise ShapeError(f"{msg}; use stack, or reshape it to (1,) first")
    axis = _dim_in(axis, first.ndim, "cat")
    for t in tensors[1:]:
        same = t.ndim == first.ndim and all(
            a == b for i, (a, b) in enumerate(zip(t.shape, first.shape)) if i != axis
        )
        if not same:
            raise ShapeError(
                f"cat along axis {axis} got shapes {[t.shape for t in tensors]}; all dimensions "
                f"but axis {axis} must match"
            )
    return Concatenate.apply(*tensors, axis=axis)


concatenate = cat


def stack(tensors, axis=0, *, dim=None) -> Tensor:
    """Join same-shaped tensors along a new axis."""
    tensors = _tensors(tensors, "stack")
    axis = dim if dim is not None else axis
    if len({t.shape for t in tensors}) != 1:
        raise ShapeError(f"stack needs tensors of one shape, got {[t.shape for t in tensors]}")
    return Stack.apply(*tensors, axis=_dim_in(axis, tensors[0].ndim + 1, "stack"))


def flip(x, dims) -> Tensor:
    """Reverse the order of elements along ``dims`` (an int or a sequence of ints), as
    ``torch.flip``; the result is a copy.

    Example:
        >>> import chainrule as cr
        >>> cr.flip(cr.tensor([[1, 2], [3, 4]]), 1).tolist()
        [[2, 1], [4, 3]]
    """
    x = operand(x)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if x.ndim == 0:  # a single number: PyTorch takes its dim 0 or -1, with nothing to reverse
        return Flip.apply(x, axes=normalize_axis(dims, None, 0, "flip")[:0])
    axes = [_one_axis(x, d, "flip") for d in dims]
    if len(set(axes)) != len(axes):
        raise ValueError(f"flip: dims {dims} name the same axis more than once")
    return Flip.apply(x, axes=tuple(axes))


def roll(x, shifts, dims=None) -> Tensor:
    """Shift elements cyclically by ``shifts`` along ``dims`` (ints or matching sequences), as
    ``torch.roll``; with ``dims=None`` the flattened tensor is shifted and reshaped back.

    Example:
        >>> import chainrule as cr
        >>> cr.roll(cr.tensor([1, 2, 3, 4]), 1).tolist()
        [4, 1, 2, 3]
    """
    x = operand(x)
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            raise ValueError(f"roll: without dims, shifts must be one integer, got {shifts!r}")
        return Roll.apply(x, shifts=int(shifts), axes=None)
    shifts_t = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    dims_t = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    if len(shifts_t) != len(dims_t):
        raise ValueError(f"roll: {len(shifts_t)} shifts for {len(dims_t)} dims; give one each")
    axes = tuple(_one_axis(x, d, "roll") for d in dims_t)
    return Roll.apply(x, shifts=tuple(int(s) for s in shifts_t), axes=axes)


def repeat(x, *sizes) -> Tensor:
    """Tile ``x`` ``sizes[i]`` times along each axis, as ``torch.Tensor.repeat`` (more sizes
    than axes add leading axes; NumPy's ``tile``). The gradient sums over the copies.

    Example:
        >>> import chainrule as cr
        >>> cr.tensor([1, 2]).repeat(2, 2).tolist()
        [[1, 2, 1, 2], [1, 2, 1, 2]]
    """
    x = operand(x)
    reps = _shape_args(sizes)
    if len(reps) < x.ndim:
        raise ValueError(
            f"repeat: give at least one size per dimension ({x.ndim}), got {len(reps)}"
        )
    if any(not isinstance(r, (int, np.integer)) or r < 0 for r in reps):
        raise ValueError(f"repeat: sizes must be non-negative integers, got {reps}")
    return Repeat.apply(x, reps=tuple(int(r) for r in reps))


def tile(x, dims) -> Tensor:
    """``torch.tile``: :func:`repeat` where fewer ``dims`` than axes count from the last axis
    (ones are put in front)."""
    x = operand(x)
    dims = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    return repeat(x, *((1,) * (x.ndim - len(dims)) + dims))


def _dim_in(dim, ndim: int, op: str) -> int:
    """``dim`` as a non-negative int for ``ndim`` places, as PyTorch reads it: a 0-d integer
    tensor is its value; a bool or float is a TypeError (``True`` is not dim 1) and a dim out of
    range an IndexError (:class:`DimensionError`), never truncated or wrapped around."""
    if isinstance(dim, Tensor) and dim.array.ndim == 0 and dim.array.dtype.kind in "iu":
        dim = int(dim.array)
    if isinstance(dim, (bool, np.bool_)) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}(): dim must be an int, got {dim!r:.60}")
    if not -ndim <= dim < ndim:
        raise DimensionError(
            f"{op}(): dim {dim} is out of range (expected to be in range of [{-ndim}, {ndim - 1}])"
        )
    return int(dim) % ndim


def _one_axis(x, axis, op: str) -> int:
    """``axis`` checked against ``x``'s dimensions, as a non-negative int."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an integer, got {axis!r}")
    if not -x.ndim <= axis < x.ndim:
        raise DimensionError(
            f"{op}: dim {axis} is out of range for a tensor with {x.ndim} dimensions"
        )
    return int(axis) % x.ndim


def pad(x, pad_width, value=0.0) -> Tensor:
    """Pad with a constant; ``pad_width`` as in ``np.pad`` (per axis: (before, after))."""
    x = operand(x)
    try:
        pad_width = np.broadcast_to(np.asarray(pad_width, dtype=int), (x.ndim, 2))
    except ValueError:
        raise ShapeError(
            f"pad got pad_width {np.asarray(pad_width).tolist()} for a tensor of shape "
            f"{x.shape}; give one (before, after) pair per axis ({x.ndim} pairs)"
        ) from None
    return Pad.apply(x, pad_width=tuple(map(tuple, pad_width.tolist())), value=value)


def diff(x, n: int = 1, dim: int = -1, prepend=None, append=None) -> Tensor:
    """The n-th forward difference along ``dim``: x[1:] − x[:−1], ``n`` times, as ``torch.diff``
    (``prepend`` / ``append`` are joined on first); differentiable.

    Example:
        >>> import chainrule as cr
        >>> cr.diff(cr.tensor([1.0, 4.0, 9.0, 16.0])).tolist()
        [3.0, 5.0, 7.0]
    """
    x = operand(x)
    if x.ndim == 0:
        raise ShapeError("diff: needs at least 1 dimension, got a 0-d tensor")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"diff: n must be a non-negative integer, got {n!r}")
    axis = _one_axis(x, dim, "diff")
    parts = [operand(p) for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = cat(parts, axis)
    head = (slice(None),) * axis
    for _ in range(int(n)):
        if x.shape[axis] == 0:
            break
        later, earlier = x[head + (slice(1, None),)], x[head + (slice(None, -1),)]
        if x.array.dtype == np.bool_:  # PyTorch: bools differ where they are unequal
            x = Tensor._make(np.not_equal(later.array, earlier.array), False)
        else:
            x = later - earlier
    return x
