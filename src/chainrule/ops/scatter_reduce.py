"""Scatter with a reduction, as PyTorch spells it: ``scatter_reduce`` (sum, prod, mean, amax,
amin, with or without the input's own values) and ``scatter(..., reduce='add'|'multiply')``.

The derivative is PyTorch's (``scatter_reduce_backward``): amax/amin share the gradient evenly
among the values that tie for the result, prod is exact with zeros (the product of the other
values), mean divides by the count. ``scatter(reduce=)`` has no derivative in PyTorch; here its
backward raises the same ``NotImplementedError``.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import (
    ArgumentError,
    DTypeError,
    DTypeNotImplementedError,
    IndexOutOfRangeError,
    ShapeError,
)
from chainrule.ops._util import operand
from chainrule.ops.getitem import GetItem, PlaceAt
from chainrule.ops.indexing import _along, _dim, _int_index
from chainrule.tensor import Tensor

REDUCTIONS = ("sum", "prod", "mean", "amax", "amin")
_ALIASES = {"max": "amax", "min": "amin"}  # PyTorch still takes these two spellings
_AT = {"sum": np.add, "mean": np.add, "prod": np.multiply, "amax": np.maximum, "amin": np.minimum}


def _reduced(x, src, where, reduce: str, include_self: bool):
    """The forward on arrays: ``x`` with ``src`` reduced into it at ``where``."""
    out = x.copy()
    if not include_self:  # start the written positions from the reduction's identity
        if reduce in ("amax", "amin"):
            out[where] = src  # any one of the values written there (max/min take it again)
        else:
            out[where] = 1 if reduce == "prod" else 0
    with np.errstate(invalid="ignore"):  # NaN goes through max and min, as in PyTorch
        _AT[reduce].at(out, where, src)
    if reduce != "mean":
        return out, None
    count = np.full(x.shape, 1 if include_self else 0, dtype=np.int64)
    np.add.at(count, where, 1)
    count[count == 0] = 1  # positions nothing was written to keep their own value
    if out.dtype.kind == "f":
        count = count.astype(out.dtype)
        return out / count, count
    return np.floor_divide(out, count), count  # integer mean rounds down, as PyTorch's


class _Arrays:
    """The gradient formulas' building blocks on arrays (``backward``)."""

    where = staticmethod(np.where)

    def __init__(self, op):
        self.op = op

    def gather(self, a):
        return a[self.op.where]

    def spread(self, a):
        """Zeros of the input's shape with ``a`` added at the written positions."""
        out = np.zeros(self.op.x_shape, a.dtype)
        np.add.at(out, self.op.where, a)
        return out

    def rerun(self, x, src):
        return _reduced(x, src, self.op.where, "prod", self.op.include_self)[0]

    def to_src_shape(self, a):
        if a.shape == self.op.src_shape:
            return a
        out = np.zeros(self.op.src_shape, a.dtype)
        out[self.op.src_part] = a
        return out


class _Tensors(_Arrays):
    """The same building blocks as ops in the graph (``backward_graph``)."""

    @staticmethod
    def where(mask, a, b):
        return _elementwise.where(mask, a, b)

    def gather(self, a):
        return GetItem.apply(a, index=self.op.where, advanced=True)

    def spread(self, a):
        return PlaceAt.apply(a, shape=self.op.x_shape, index=self.op.where, advanced=True)

    def rerun(self, x, src):
        op = self.op
        return ScatterReduce.apply(
            x, src, dim=op.dim, index=op.index, reduce="prod", include_self=op.include_self
        )

    def to_src_shape(self, a):
        if a.shape == self.op.src_shape:
            return a
        op = self.op
        return PlaceAt.apply(a, shape=op.src_shape, index=op.src_part, advanced=False)


class ScatterReduce(Function):
    """out = x (or the reduction's identity where written, without ``include_self``), then
    out[i][index[i][j]] ⊕= src[i][j] (for dim=1), ⊕ one of sum, prod, mean, amax, amin."""

    label = "scatter_reduce"
    formulas = (
        "1 (sum), 1/count (mean), product of the others (prod), 1/ties where it is the "
        "result (amax, amin); 0 at written positions without include_self",
        "the same factor for each src value, read at the position it was written to",
    )

    def forward(self, x, src, dim, index, reduce, include_self):
        self.dim, self.index, self.reduce, self.include_self = dim, index, reduce, include_self
        self.where = _along(index, dim)
        self.src_part = tuple(slice(0, n) for n in index.shape)
        self.x_shape, self.src_shape = x.shape, src.shape
        self.x, self.src = x, src
        self.out, self.count = _reduced(x, src[self.src_part], self.where, reduce, include_self)
        return self.out

    def backward(self, grad):
        x, src = self.x, self.src[self.src_part]
        return self._grads(grad, _Arrays(self), x, src, self.out)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        lib = _Tensors(self)
        x, src = self.parents[0], self.parents[1][self.src_part]
        out = ScatterReduce.apply(
            x,
            src,
            dim=self.dim,
            index=self.index,
            reduce=self.reduce,
            include_self=self.include_self,
        )
        return self._grads(grad, lib, x, src, out)

    def _grads(self, grad, lib, x, src, out):
        """PyTorch's ``scatter_reduce_backward``, written once for arrays and for tensors."""
        reduce, x_values, src_values = self.reduce, self.x, self.src[self.src_part]
        if reduce == "sum":
            grad_x, grad_src = grad, lib.gather(grad)
        elif reduce == "mean":
            grad_x = grad / self.count
            grad_src = lib.gather(grad_x)
        elif reduce == "prod":
            grad_x, grad_src = self._prod_grads(grad, lib, x, src, out)
        else:  # amax, amin: the gradient split evenly among the values equal to the result
            value = self.out[self.where]
            self_is = x_values == self.out
            if not self.include_self:  # PyTorch counts a value that took no part as a tie
                self_is[self.where] = False  # and loses its share: not here
            src_is = src_values == value
            ties = self_is.astype(grad_dtype(grad)) + _Arrays(self).spread(
                src_is.astype(grad_dtype(grad))
            )
            with np.errstate(divide="ignore", invalid="ignore"):  # NaN ties nothing: NaN, as
                share = grad / ties  # PyTorch's
                grad_x = share * self_is
                grad_src = lib.gather(share) * src_is
        if not self.include_self:
            written = np.zeros(self.x_shape, bool)
            written[self.where] = True
            grad_x = lib.where(written, 0, grad_x)
        grad_x = grad_x if self.needs_grad[0] else None
        grad_src = lib.to_src_shape(grad_src) if self.needs_grad[1] else None
        return grad_x, grad_src

    def _prod_grads(self, grad, lib, x, src, out):
        """Exact with zeros: where a value is 0, the product of the others is recomputed."""
        x_zero = self.x == 0
        masked_x = lib.where(x_zero, 1, x)
        grad_x = grad * lib.rerun(masked_x, src) / masked_x
        src_zero = self.src[self.src_part] == 0
        zeros_there = _Arrays(self).spread(src_zero.astype(np.int64))[self.where]
        if isinstance(grad, Tensor) and (zeros_there > 1).any():
            raise NotImplementedError(
                "scatter_reduce(): Double backward is unsupported for src when >1 zeros in src "
                "are scattered to the same position in self (as in PyTorch)"
            )
        single_zero = src_zero & (zeros_there == 1)
        others = lib.rerun(x, lib.where(single_zero, 1, src))  # product without that zero
        grad_src = lib.where(
            single_zero,
            lib.gather(grad * others),
            lib.gather(grad * out) / lib.where(src_zero, 1, src),
        )
        return grad_x, grad_src


def grad_dtype(grad):
    return grad.dtype if isinstance(grad, np.ndarray) else grad.array.dtype


class ScatterWithReduce(Function):
    """``scatter(..., reduce='add'|'multiply')``: PyTorch computes it but has no derivative."""

    label = "scatter"
    formulas = ("not implemented (as in PyTorch): use scatter_reduce",)
    saves_tensors = False

    def forward(self, x, src, dim, index, reduce):
        self.src_part = tuple(slice(0, n) for n in index.shape)
        part = src[self.src_part] if src.ndim else np.broadcast_to(src, index.shape)
        return _reduced(x, part, _along(index, dim), reduce, True)[0]

    def backward(self, grad):
        raise NotImplementedError(
            "derivative for scatter with reduce= is not implemented, as in PyTorch; use "
            "scatter_reduce(dim, index, src, 'sum' or 'prod'), which has one"
        )

    def backward_graph(self, grad):
        """No derivative (as in PyTorch): the same error as :meth:`backward`."""
        return self.backward(grad)


# ---- functions ------------------------------------------------------------------------------
def _checked(x: Tensor, dim, index, src_shape: tuple, src_dtype, op: str):
    """PyTorch's rules for a scatter into ``x`` from a ``src`` of this shape and dtype: the
    checked (dim, index)."""
    index = _int_index(index, op)
    if src_dtype != x.dtype:
        raise DTypeError(
            f"{op}(): Expected self.dtype to be equal to src.dtype, got input {x.dtype} and src "
            f"{src_dtype}; convert one, e.g. src.to(input.dtype)"
        )
    dim = _dim(dim, x.ndim, op)
    if index.ndim != x.ndim or (len(src_shape) != x.ndim and index.size):
        raise ShapeError(
            f"{op}: index ({index.ndim}-D), src ({len(src_shape)}-D) and input ({x.ndim}-D) "
            f"must have the same number of dimensions"
        )
    if index.size and (
        any(i > s for i, s in zip(index.shape, src_shape))
        or any(i > n for d, (i, n) in enumerate(zip(index.shape, x.shape)) if d != dim)
    ):
        raise ShapeError(
            f"{op}: index of shape {index.shape} must be no larger than input {x.shape} apart "
            f"from dim {dim}, and no larger than src {src_shape}, as in PyTorch"
        )
    if index.size and (index.min() < 0 or index.max() >= x.shape[dim]):
        bad = int(index.min() if index.min() < 0 else index.max())
        raise IndexOutOfRangeError(
            f"{op}: index {bad} is out of bounds for dimension {dim} with size {x.shape[dim]}; "
            f"indices must be in [0, {x.shape[dim]}), as in PyTorch"
        )
    return dim, index


def scatter_reduce(input, dim: int, index, src, reduce: str, *, include_self: bool = True):  # noqa: A002
    """``src`` reduced into a copy of ``input`` at ``index`` along ``dim``, as
    ``torch.scatter_reduce``: ``out[i][index[i][j]] ⊕= src[i][j]`` (dim=1), ⊕ one of ``'sum'``,
    ``'prod'``, ``'mean'``, ``'amax'``, ``'amin'``. Without ``include_self`` the input's own
    values at the written positions take no part. Integer means round down, as PyTorch's.

    Example:
        >>> import chainrule as cr
        >>> x, i = cr.tensor([1.0, 5.0, 0.0]), cr.tensor([0, 0, 2, 2])
        >>> src = cr.tensor([2.0, 3.0, 4.0, 6.0])
        >>> cr.scatter_reduce(x, 0, i, src, "amax").tolist()
        [3.0, 5.0, 6.0]
        >>> x.scatter_reduce(0, i, src, "mean", include_self=False).tolist()
        [2.5, 5.0, 5.0]
    """
    reduce = _ALIASES.get(reduce, reduce)
    if reduce not in REDUCTIONS:
        raise ArgumentError(
            f"scatter_reduce: reduce argument must be either sum, prod, mean, amax or amin, got "
            f"{reduce!r}"
        )
    x, src = operand(input), operand(src)
    if x.ndim == 0:  # PyTorch treats a 0-d input as one element along dim 0
        index = _int_index(index, "scatter_reduce").reshape(-1)
        out = scatter_reduce(
            x.reshape(1), dim, index, src.reshape(-1), reduce, include_self=include_self
        )
        return out.reshape(())
    if reduce == "mean" and x.dtype == np.bool_:
        raise DTypeNotImplementedError(
            "scatter_reduce(reduce='mean') is not implemented for bool, as in PyTorch; "
            "convert first, e.g. x.float()"
        )
    dim, index = _checked(x, dim, index, src.shape, src.dtype, "scatter_reduce")
    return ScatterReduce.apply(
        x, src, dim=dim, index=index, reduce=reduce, include_self=bool(include_self)
    )


def scatter_with_reduce(x: Tensor, dim, index, src, reduce: str) -> Tensor:
    """``scatter(dim, index, src or value, reduce='add'|'multiply')`` (a number ``src`` is
    converted to the input's dtype, as PyTorch's)."""
    if reduce not in ("add", "multiply"):
        raise ArgumentError(
            f"scatter: reduce argument must be either add or multiply, got {reduce!r}"
        )
    if not isinstance(src, Tensor):
        src = Tensor._make(np.asarray(src).astype(x.dtype), False)
    index = _int_index(index, "scatter")
    if x.ndim == 0:  # PyTorch treats a 0-d input as one element along dim 0
        flat = src.reshape(-1) if src.ndim else src
        return scatter_with_reduce(x.reshape(1), dim, index.reshape(-1), flat, reduce).reshape(())
    src_shape = src.shape if src.ndim else index.shape  # a number fills the index's shape
    dim, index = _checked(x, dim, index, src_shape, src.dtype, "scatter")
    return ScatterWithReduce.apply(
        x, src, dim=dim, index=index, reduce="sum" if reduce == "add" else "prod"
    )


from chainrule.ops import elementwise as _elementwise  # noqa: E402
