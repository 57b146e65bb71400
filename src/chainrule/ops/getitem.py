"""``x[index]``: the op, its transpose (for second derivatives), and PyTorch's rules where they
differ from NumPy's, by rewriting the index so NumPy gives PyTorch's result.

* **Integers next to index arrays.** NumPy counts an integer as one more index array, and
  when index arrays are separated (``x[0, :, [0, 2]]``) it moves their dimension to the
  front: shape (2, 3, 5) for an x of shape (2, 3, 4, 5). PyTorch first selects with the
  integers and then indexes what is left, where ``[0, 2]`` stays in place: (3, 2, 5). So an
  index holding both is split into the integers (a view) and the rest.
* **Negative or zero slice steps** (``x[::-1]``) raise ``ValueError``, as PyTorch's: NumPy
  would reverse; ``x.flip(dim)`` is the spelling both libraries share.
* **uint8 index tensors** are masks in PyTorch (deprecated there, with a warning), integer
  positions in NumPy.
"""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import IndexOutOfRangeError
from chainrule.ops._util import operand
from chainrule.tensor import Tensor


def _array(part):
    array = getattr(part, "array", None)  # a chainrule Tensor
    if array is not None and not isinstance(part, np.ndarray):
        part = array
    if isinstance(part, np.ndarray) and part.dtype == np.uint8:
        warnings.warn(
            "indexing with a uint8 tensor is deprecated, as in PyTorch; it is read as a mask "
            "(use a bool tensor)",
            UserWarning,
            stacklevel=4,
        )
        part = part.astype(bool)
    return part


def _is_integer(part) -> bool:
    if isinstance(part, (bool, np.bool_)):
        return False
    if isinstance(part, (int, np.integer)):
        return True
    return isinstance(part, np.ndarray) and part.ndim == 0 and part.dtype.kind in "iu"


def _is_array(part) -> bool:
    return isinstance(part, (list, np.ndarray)) and not _is_integer(part)


def _dims_taken(part) -> int:
    if isinstance(part, np.ndarray) and part.dtype == bool:
        return part.ndim  # a mask stands for as many dimensions as it has
    return 1


_BASIC = frozenset((int, slice, type(None), type(Ellipsis)))


def _refuse_backward_step(part: slice) -> None:
    """PyTorch's tensors have no negative strides: ``x[::-1]`` raises there, and reversing
    here would give an answer PyTorch code never sees."""
    if part.step is not None and part.step <= 0:
        raise ValueError(
            f"step must be greater than zero, got slice step {part.step} (as in PyTorch); "
            "to reverse a tensor use x.flip(dim), e.g. x.flip(0) for x[::-1]"
        )


def _list_as_tuple(index: list) -> bool:
    """PyTorch's rule (NumPy's old one): a list of fewer than 32 items holding a tensor, a
    sequence, a slice, None or ... is a tuple of indexes (``x[[[0, 1], [1, 2]]]`` is
    ``x[[0, 1], [1, 2]]``, where NumPy now reads one index array)."""
    return len(index) < 32 and any(
        isinstance(part, (Tensor, np.ndarray, list, tuple, range, str, slice))
        or part is None
        or part is Ellipsis
        for part in index
    )


def torch_index(index) -> tuple:
    """The index as one or two NumPy indexes applied in turn (``x[a][b]``), with tensors as
    arrays, giving PyTorch's result."""
    if type(index) is list and _list_as_tuple(index):
        warnings.warn(  # as PyTorch warns: its next versions read one index tensor here
            "Using a non-tuple sequence for multidimensional indexing is deprecated (as in "
            "PyTorch); use x[tuple(seq)] instead of x[seq]",
            UserWarning,
            stacklevel=4,
        )
        index = tuple(index)
    if not isinstance(index, tuple):
        if type(index) is slice:
            _refuse_backward_step(index)
        return (index,) if type(index) in _BASIC else (_array(index),)
    for part in index:  # ints, slices, None and ... only (the common case): nothing to do
        if type(part) is slice:
            _refuse_backward_step(part)
        elif type(part) not in _BASIC:
            break
    else:
        return (index,)
    for part in index:
        if type(part) is slice:
            _refuse_backward_step(part)
    index = tuple(_array(part) for part in index)
    # where the integers and the index arrays sit; side by side (or no integers), NumPy puts
    # the result's indexed dimensions where PyTorch does: no split needed
    positions, has_integer, has_array = [], False, False
    for i, part in enumerate(index):
        if type(part) in _BASIC and type(part) is not int:
            continue
        if _is_integer(part):
            has_integer = True
        elif _is_array(part):
            has_array = True
        else:
            continue
        positions.append(i)
    if not (has_integer and has_array) or positions[-1] - positions[0] + 1 == len(positions):
        return (index,)
    integers, rest = [], []
    for part in index:
        if _is_integer(part):
            integers.append(int(part))  # a 0-d array would index as an array: a copy, no view
        elif part is None:
            rest.append(part)
        elif part is Ellipsis:
            integers.append(part)
            rest.append(part)
        else:
            part = np.asarray(part) if isinstance(part, list) else part
            integers.extend([slice(None)] * _dims_taken(part))
            rest.append(part)
    return tuple(integers), tuple(rest)


class GetItem(Function):
    """x[index]; repeated integer indices accumulate their gradients."""

    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)

    saves_inputs = False  # backward reads shapes only

    label = "index"
    formulas = ("1 at the selected elements, else 0",)

    def forward(self, x, index, advanced):
        self.in_shape, self.dtype, self.index, self.advanced = x.shape, x.dtype, index, advanced
        out = x[index]
        if not isinstance(out, np.ndarray):  # integers only: NumPy copies one element out;
            # PyTorch's x[0] is a 0-d view, so x[0] += 1 and y = x[0]; y.add_(1) change x
            out = x[(index if isinstance(index, tuple) else (index,)) + (Ellipsis,)]
        return out

    @property
    def saves_tensors(self) -> bool:  # an index array is a saved tensor in PyTorch; a slice not
        return self.advanced

    def backward(self, grad):
        grad_x = np.zeros(self.in_shape, dtype=self.dtype)
        if self.advanced:
            np.add.at(grad_x, self.index, grad)
        else:
            grad_x[self.index] = grad
        return (grad_x,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (PlaceAt.apply(grad, shape=self.in_shape, index=self.index, advanced=self.advanced),)


class PlaceAt(Function):
    """Zeros of ``shape`` with ``x`` added at ``index``: the transpose of indexing (GetItem's
    backward as an op, so second derivatives can pass through indexing)."""

    saves_inputs = False  # backward reads the index only

    label = "place"
    formulas = ("1 at the placed elements",)

    def forward(self, x, shape, index, advanced):
        self.index = index
        out = np.zeros(shape, dtype=x.dtype)
        if advanced:
            np.add.at(out, index, x)
        else:
            out[index] = x
        return out

    def backward(self, grad):
        return (grad[self.index],)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (GetItem.apply(grad, index=self.index, advanced=True),)


def _is_advanced(index) -> bool:
    parts = index if isinstance(index, tuple) else (index,)
    return any(isinstance(p, (list, np.ndarray)) for p in parts)


def getitem(x, index) -> Tensor:
    """Indexing with ints, slices, None, ..., boolean masks and integer arrays, with PyTorch's
    rules where they differ from NumPy's (see the module's docstring)."""
    x = operand(x)
    try:
        steps = torch_index(index)
        if len(steps) == 2:  # the integers first (a view), then the rest
            x = GetItem.apply(x, index=steps[0], advanced=False)
        return GetItem.apply(x, index=steps[-1], advanced=_is_advanced(steps[-1]))
    except IndexError as err:
        raise IndexOutOfRangeError(
            f"index {index!r} does not fit a tensor of shape {x.shape}: {err}"
        ) from None
