"""More Tensor methods with PyTorch's names, as a mixin under :class:`TensorMethods`: shape
helpers (``unbind``, ``narrow``, ``movedim``, ...), index writes (``index_add``,
``scatter_add`` and their in-place forms), extremes (``kthvalue``, ``cummax``, ``fmax``),
``where``, ``div_(rounding_mode=)`` and the bit shifts ``<<`` and ``>>``.

Each delegates to a chainrule function; nothing here keeps state (``__slots__ = ()``). The
modules are bound by :func:`_bind` once they can import Tensor.
"""

from __future__ import annotations

import numpy as np

from chainrule._dtype import refuse_bool
from chainrule.autograd.grad_mode import _GradMode, no_grad
from chainrule.autograd.inplace import GRAPH_WRITES, assign, records, write
from chainrule.autograd.inplace import _clamp as _clamp_array
from chainrule.errors import DTypeError, GraphError, ShapeError


def _write_back(tensor, op: str, fn, *args, **kwargs):
    """PyTorch's in-place ``op`` (``index_add_``, ...): the out-of-place result, computed
    outside the graph, copied into ``tensor``'s memory with the in-place checks."""
    if _GradMode.enabled and records(tensor, args):  # recorded as PyTorch's (inplace_graph)
        return GRAPH_WRITES["write_back"](tensor, op, fn, args, kwargs)
    with no_grad():
        out = fn(tensor, *args, **kwargs)
    have, want = out.array.dtype.kind, tensor.array.dtype.kind
    if (have == "f" and want in "iub") or (have in "iu" and want == "b"):
        raise DTypeError(  # PyTorch's rule: no float into an integer, no integer into a bool
            f"{op}: result type {out.array.dtype} can't be cast to the desired output type "
            f"{tensor.array.dtype}; use the out-of-place op"
        )
    if out.array.shape != tensor.array.shape:  # NumPy's copy would drop the extra size-1 dims
        raise ShapeError(
            f"{op}: output with shape {tensor.shape} doesn't match the broadcast shape "
            f"{out.shape} (an in-place op keeps its tensor's shape, as in PyTorch)"
        )
    return assign(tensor, op, out.array)


def _refuse_bool_bound(tensor, bound, op: str) -> None:
    """PyTorch has no bool kernel for a number bound (a bool tensor bound works)."""
    if bound.__class__ is bool and tensor.array.dtype.kind == "b":
        refuse_bool(tensor.array.dtype, op)


class TensorMethodsExtra:
    """PyTorch's Tensor methods beyond :class:`TensorMethods` (mixed into it)."""

    __slots__ = ()

    def __dir__(self):
        """The attributes, less PyTorch's names that only raise NotSupportedError."""
        cls = type(self)
        return [n for n in object.__dir__(self) if tensor_has(cls, n)]

    def new_empty(self, *size, dtype=None, requires_grad=False, device=None):
        """Zero-filled, as ``cr.empty`` (PyTorch leaves the values unset)."""
        return self.new_zeros(*size, dtype=dtype, requires_grad=requires_grad, device=device)

    # PyTorch's other names (NumPy's spellings) of methods chainrule has
    def reshape_as(self, other):
        return self.reshape(*other.shape)

    def absolute(self):
        return self.abs()

    def absolute_(self):
        return self.abs_()

    def negative(self):
        return self.neg()

    def negative_(self):
        return self.neg_()

    def fix(self):
        return self.trunc()

    def arccos(self):
        return self.acos()

    def arcsin(self):
        return self.asin()

    def arctan(self):
        return self.atan()

    def arctan2(self, other):
        return self.atan2(other)

    def erfinv(self):
        from chainrule.ops.erfinv import erfinv

        return erfinv(self)

    def ndimension(self) -> int:
        return self.dim()

    def short(self):
        return self.to(dtype="int16")

    def char(self):
        return self.to(dtype="int8")

    def byte(self):
        return self.to(dtype="uint8")

    @property
    def retains_grad(self) -> bool:
        """True for an op's output after ``retain_grad()`` (False for leaves), as PyTorch's."""
        from chainrule.autograd.hooks import retains_grad

        return retains_grad(self)

    def detach_(self):
        """Stop this tensor requiring grad, in place (PyTorch's ``detach_``), for a leaf or a
        tensor outside the graph. An op's output is refused: the ops that already read it find
        their way back through it, which PyTorch keeps and this would cut; use ``y.detach()``."""
        if self._ctx is not None:
            raise GraphError(
                "detach_() of an op's output is not supported (the ops that used it would lose "
                "the path to its inputs); use y = y.detach() instead"
            )
        self._requires_grad = False
        return self

    def is_inference(self) -> bool:
        """True for a tensor made inside ``cr.inference_mode()`` (see there), as PyTorch's."""
        return self._inference

    # ---- shape ------------------------------------------------------------------------------
    def unbind(self, dim=0):
        return _shape_extra.unbind(self, dim)

    def narrow(self, dim, start, length):
        return _shape_extra.narrow(self, dim, start, length)

    def select(self, dim, index):
        return _shape_extra.select(self, dim, index)

    def unfold(self, dimension, size, step):
        return _shape_extra.unfold(self, dimension, size, step)

    def ravel(self):
        return self.flatten()

    def movedim(self, source, destination):
        return _shape_extra.movedim(self, source, destination)

    moveaxis = movedim

    def swapdims(self, dim0, dim1):
        return _shape_extra.swapdims(self, dim0, dim1)

    def unflatten(self, dim, sizes):
        return _shape_extra.unflatten(self, dim, sizes)

    def tensor_split(self, indices_or_sections, dim=0):
        return _shape_extra.tensor_split(self, indices_or_sections, dim)

    def fliplr(self):
        return _shape_extra.fliplr(self)

    def flipud(self):
        return _shape_extra.flipud(self)

    def take_along_dim(self, indices, dim=None):
        return _shape_extra.take_along_dim(self, indices, dim)

    def where(self, condition, other):
        """``x.where(condition, y)``: ``torch.where(condition, x, y)``."""
        return _indexing.where(condition, self, other)

    # ---- index writes -------------------------------------------------------------------------
    def index_add(self, dim, index, source, *, alpha=1):
        return _index_write.index_add(self, dim, index, source, alpha=alpha)

    def index_add_(self, dim, index, source, *, alpha=1):
        add = _index_write.index_add
        return _write_back(self, "index_add_", add, dim, index, source, alpha=alpha)

    def index_copy(self, dim, index, source):
        return _index_write.index_copy(self, dim, index, source)

    def index_copy_(self, dim, index, source):
        return _write_back(self, "index_copy_", _index_write.index_copy, dim, index, source)

    def index_fill(self, dim, index, value):
        return _index_write.index_fill(self, dim, index, value)

    def index_put(self, indices, values, accumulate=False):
        from chainrule.ops.index_put import index_put

        return index_put(self, indices, values, accumulate)

    def index_put_(self, indices, values, accumulate=False):
        from chainrule.ops.index_put import index_put

        return _write_back(self, "index_put_", index_put, indices, values, accumulate)

    def index_fill_(self, dim, index, value):
        return _write_back(self, "index_fill_", _index_write.index_fill, dim, index, value)

    def scatter_add(self, dim, index, src):
        return _index_write.scatter_add(self, dim, index, src)

    def scatter_add_(self, dim, index, src):
        return _write_back(self, "scatter_add_", _index_write.scatter_add, dim, index, src)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return _scatter_reduce.scatter_reduce(
            self, dim, index, src, reduce, include_self=include_self
        )

    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True):
        return _write_back(
            self, "scatter_reduce_", _scatter_reduce.scatter_reduce, dim, index, src, reduce,
            include_self=include_self,
        )  # fmt: skip

    def scatter_(self, dim, index, src=None, *, value=None, reduce=None):
        return _write_back(
            self, "scatter_", type(self).scatter, dim, index, src, value=value, reduce=reduce
        )

    # ---- one-sided clamps ---------------------------------------------------------------------
    def clamp_min(self, min):  # noqa: A002 - PyTorch's names
        return _clamp_side.clamp_min(self, min)

    def clamp_max(self, max):  # noqa: A002
        return _clamp_side.clamp_max(self, max)

    def clamp_min_(self, min):  # noqa: A002
        _refuse_bool_bound(self, min, "clamp_min_")
        return write(self, "clamp_min_", _clamp_array, _clamp_side._bound("clamp_min_", min), None)

    def clamp_max_(self, max):  # noqa: A002
        _refuse_bool_bound(self, max, "clamp_max_")
        return write(self, "clamp_max_", _clamp_array, None, _clamp_side._bound("clamp_max_", max))

    # ---- extremes and products ----------------------------------------------------------------
    def kthvalue(self, k, dim=-1, keepdim=False):
        return _extremes.kthvalue(self, k, dim, keepdim)

    def cummax(self, dim):
        return _extremes.cummax(self, dim)

    def cummin(self, dim):
        return _extremes.cummin(self, dim)

    def msort(self):
        return _extremes.msort(self)

    def aminmax(self, *, dim=None, keepdim=False):
        return _extremes.aminmax(self, dim=dim, keepdim=keepdim)

    def sgn(self):
        return _sign_magnitude.sgn(self)

    def signbit(self):
        return _sign_magnitude.signbit(self)

    def frac(self):
        return _sign_magnitude.frac(self)

    def copysign(self, other):
        return _sign_magnitude.copysign(self, other)

    def hypot(self, other):
        return _sign_magnitude.hypot(self, other)

    def fmax(self, other):
        return _extremes.fmax(self, other)

    def fmin(self, other):
        return _extremes.fmin(self, other)

    def inner(self, other):
        return _contractions.inner(self, other)

    def mv(self, vec):
        return _contractions.mv(self, vec)

    # ---- bitwise logic by name (the operators &, |, ^ and ~) -----------------------------------
    def bitwise_and(self, other):
        return self & other

    def bitwise_or(self, other):
        return self | other

    def bitwise_xor(self, other):
        return self ^ other

    def bitwise_not(self):
        return ~self

    def not_equal(self, other):  # torch.not_equal's method form (ne's other name)
        return self != other

    def greater(self, other):  # the method forms of torch.greater and co. (gt, ge, lt, le)
        return self > other

    def greater_equal(self, other):
        return self >= other

    def less(self, other):
        return self < other

    def less_equal(self, other):
        return self <= other

    # ---- bit shifts (integer tensors) ---------------------------------------------------------
    def bitwise_left_shift(self, other):
        return _bitshift.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other):
        return _bitshift.bitwise_right_shift(self, other)

    __lshift__ = bitwise_left_shift
    __rshift__ = bitwise_right_shift

    def __rlshift__(self, other):
        return _bitshift.bitwise_left_shift(other, self)

    def __rrshift__(self, other):
        return _bitshift.bitwise_right_shift(other, self)

    def bitwise_left_shift_(self, other):
        return _write_back(self, "bitwise_left_shift_", _bitshift.bitwise_left_shift, other)

    def bitwise_right_shift_(self, other):
        return _write_back(self, "bitwise_right_shift_", _bitshift.bitwise_right_shift, other)

    __ilshift__ = bitwise_left_shift_
    __irshift__ = bitwise_right_shift_

    def hardshrink(self, lambd=0.5):  # torch.Tensor has these two of the activations
        from chainrule.ops.activation_more import hardshrink

        return hardshrink(self, lambd)

    def prelu(self, weight):
        from chainrule.ops.activation_extra import prelu

        return prelu(self, weight)

    def rot90(self, k=1, dims=(0, 1)):
        return _extra_torch_ops.rot90(self, k, dims)

    def take(self, index):
        return _extra_torch_ops.take(self, index)

    def logcumsumexp(self, dim):
        return _extra_torch_ops.logcumsumexp(self, dim)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        from chainrule.ops.selection import unique_consecutive

        return unique_consecutive(self, return_inverse, return_counts, dim)

    def nanmedian(self, dim=None, keepdim=False):
        from chainrule.ops.selection import nanmedian

        return nanmedian(self, dim, keepdim)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        from chainrule.ops.quantile import quantile

        return quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        from chainrule.ops.quantile import nanquantile

        return nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    # ---- linear algebra (chainrule.linalg) ------------------------------------------------
    def det(self):
        from chainrule.ops.linalg import det

        return det(self)

    def logdet(self):
        from chainrule.ops.linalg import logdet

        return logdet(self)

    def slogdet(self):
        from chainrule.ops.linalg import slogdet

        return slogdet(self)

    def inverse(self):
        from chainrule.ops.linalg import inv

        return inv(self)

    def pinverse(self, rcond=1e-15):
        from chainrule.ops.linalg import pinverse

        return pinverse(self, rcond)

    def cholesky(self, upper=False):
        from chainrule.ops.linalg.legacy import cholesky

        return cholesky(self, upper=upper)

    def svd(self, some=True, compute_uv=True):
        from chainrule.ops.linalg.legacy import svd

        return svd(self, some, compute_uv)

    def qr(self, some=True):
        from chainrule.ops.linalg.legacy import qr

        return qr(self, some)

    def matrix_exp(self):
        from chainrule.ops.linalg import matrix_exp

        return matrix_exp(self)

    def matrix_power(self, n):
        from chainrule.ops.linalg import matrix_power

        return matrix_power(self, n)

    # ---- log2, log10, logit, dist, masked_scatter (ops/log_bases.py, norm.py, ...) -----------
    def log2(self):
        return _log_bases.log2(self)

    def log10(self):
        return _log_bases.log10(self)

    def logit(self, eps=None):
        return _log_bases.logit(self, eps)

    def log2_(self):
        return _rewrite_or_write_back(self, "log2_", _log_bases.log2)

    def log10_(self):
        return _rewrite_or_write_back(self, "log10_", _log_bases.log10)

    def logit_(self, eps=None):
        return _rewrite_or_write_back(self, "logit_", _log_bases.logit, eps)

    def dist(self, other, p=2):
        from chainrule.ops.norm import dist

        return dist(self, other, p)

    def masked_scatter(self, mask, source):
        from chainrule.ops.masked_scatter import masked_scatter

        return masked_scatter(self, mask, source)

    def masked_scatter_(self, mask, source):
        from chainrule.ops.masked_scatter import masked_scatter

        mask_shape = getattr(mask, "shape", ())
        if np.broadcast_shapes(mask_shape, self.shape) != self.shape:  # in place: self's shape
            raise ShapeError(
                f"masked_scatter_: mask of shape {mask_shape} does not broadcast to the "
                f"tensor's shape {self.shape} (an in-place op keeps its shape)"
            )
        return _rewrite_or_write_back(self, "masked_scatter_", masked_scatter, mask, source)


def _rewrite_or_write_back(tensor, op: str, fn, *args):
    """An in-place op without a kernel of its own: recorded in the graph as ``fn`` on the
    tensor's old value where the tensor is in the graph, else computed and copied back."""
    if _GradMode.enabled and records(tensor, args):
        return GRAPH_WRITES["rewrite"](tensor, op, lambda old: fn(old, *args))
    return _write_back(tensor, op, fn, *args)


def tensor_has(cls, name: str) -> bool:
    """Whether Tensor really has ``name`` (not a placeholder that raises NotSupportedError),
    read from the class dictionaries: reading the attribute would run the placeholder."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return type(klass.__dict__[name]).__name__ != "_NotSupported"
    return False


# bound by _bind(): they import Tensor themselves
_shape_extra = _indexing = _index_write = _extremes = _contractions = _bitshift = None
_sign_magnitude = None
_scatter_reduce = None
_clamp_side = _extra_torch_ops = _log_bases = None


def _bind() -> None:
    """Called by ``tensor_methods._bind`` once every module can be imported."""
    global _shape_extra, _indexing, _index_write, _extremes, _contractions, _bitshift, _clamp_side
    global _extra_torch_ops, _scatter_reduce, _sign_magnitude, _log_bases
    from chainrule.ops import bitshift as _bitshift
    from chainrule.ops import clamp_side as _clamp_side
    from chainrule.ops import contractions as _contractions
    from chainrule.ops import extra_torch_ops as _extra_torch_ops
    from chainrule.ops import extremes as _extremes
    from chainrule.ops import index_write as _index_write
    from chainrule.ops import indexing as _indexing
    from chainrule.ops import log_bases as _log_bases
    from chainrule.ops import scatter_reduce as _scatter_reduce
    from chainrule.ops import shape_extra as _shape_extra
    from chainrule.ops import sign_magnitude as _sign_magnitude
