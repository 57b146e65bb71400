"""In-place writes that replace a tensor's values (``copy_``, ``fill_``, ``zero_``,
``normal_``, ``uniform_``) on a tensor of the graph, as PyTorch's nodes record them: the values
before the write get a zero gradient, a source tensor the gradient summed back to its shape
(autograd/inplace_graph_ops.py records them)."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops.getitem import GetItem
from chainrule.ops.shape import Permute, Reshape
from chainrule.tensor import Tensor


def _zeros(grad) -> Tensor:
    return Tensor._make(np.zeros(grad.shape, grad.dtype), False)


class Overwrite(Function):
    """The tensor's values replaced by constants (the parameter ``values``, an array or number
    broadcast to its shape): the old values get a zero gradient, as PyTorch's (``a.grad`` is
    zeros, not None)."""

    saves_inputs = False  # backward reads shapes only
    saves_tensors = False
    label = "overwrite"
    formulas = ("0 (its values are replaced)",)

    def forward(self, old, values):
        out = np.empty_like(old)
        np.copyto(out, values, casting="unsafe")
        return out

    def backward(self, grad):
        return (np.zeros_like(grad),)

    def backward_graph(self, grad):
        """The zero gradient as a tensor (for second derivatives)."""
        return (_zeros(grad),)


class ZeroFill(Overwrite):
    """``zero_()`` (PyTorch's ``ZeroBackward0``)."""


class NumberFill(Overwrite):
    """``fill_(number)`` (PyTorch's ``FillBackward2``)."""


class NormalFill(Overwrite):
    """``normal_()`` (PyTorch's ``NormalBackward0``)."""


class UniformFill(Overwrite):
    """``uniform_()`` (PyTorch's ``UniformBackward0``)."""


class CopyFrom(Function):
    """``old.copy_(src)``: ``src`` broadcast to the tensor's shape and cast to its dtype. The
    old values get a zero gradient, ``src`` the gradient summed back to its shape, in its own
    dtype (PyTorch's ``CopyBackwards``)."""

    saves_inputs = False  # backward reads shapes and dtypes only
    saves_tensors = False
    label = "copy"
    formulas = ("0 (its values are replaced)", "1 (summed where broadcast)")

    def forward(self, old, src):
        self.src_dtype = src.dtype
        out = np.empty_like(old)
        np.copyto(out, src, casting="unsafe")
        return out

    def backward(self, grad):
        return np.zeros_like(grad), grad.astype(self.src_dtype, copy=False)

    def backward_graph(self, grad):
        """The same gradients as tensors in the graph (for second derivatives)."""
        cast = grad if grad.array.dtype == self.src_dtype else grad.to(self.src_dtype)
        return _zeros(grad), cast


class TensorFill(CopyFrom):
    """``fill_(value)`` with a 0-d tensor ``value`` (PyTorch's ``FillBackward3``)."""


class CopySlices(Function):
    """``base`` with ``part`` written at ``index`` (``mask``: the places it covers), out of
    place: a write into a view of ``base`` (``y[:, 1].mul_(3)``) or ``y[i] = v``, as PyTorch's
    ``CopySlices``. ``base`` gets the gradient outside the places, ``part`` the gradient read
    at them (summed where ``part`` was broadcast)."""

    saves_inputs = False  # backward reads the index and mask only
    label = "copy slices"
    formulas = ("1 outside the written places, else 0", "1 at the written places")

    def forward(self, base, part, index, mask, advanced=False):
        self.index, self.mask, self.advanced = index, mask, advanced
        out = base.copy()
        out[index] = part
        return out

    def backward(self, grad):
        grad_base = np.where(self.mask, 0, grad).astype(grad.dtype, copy=False)
        return grad_base, grad[self.index]

    def backward_graph(self, grad):
        """The same gradients as tensors in the graph (for second derivatives)."""
        keep = Tensor._make((~self.mask).astype(grad.array.dtype), False)
        return grad * keep, GetItem.apply(grad, index=self.index, advanced=self.advanced)


class ViewOfWrite(GetItem):
    """A view written through (autograd/inplace_views.py), as a view of its base's new version
    (PyTorch's ``AsStridedBackward0``)."""


class ReshapeOfWrite(Reshape):
    """A reshaped view written through (``y.view(6).add_(1)``), as a view of its base's new
    version (PyTorch's ``AsStridedBackward0``)."""


class PermuteOfWrite(Permute):
    """A permuted view written through (``y.t().mul_(3)``), as a view of its base's new
    version (PyTorch's ``AsStridedBackward0``)."""
