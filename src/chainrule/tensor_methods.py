"""Tensor methods with PyTorch's names and signatures, as a mixin that :class:`Tensor` inherits.

They are spelled the way PyTorch users type them (``t.long()``, ``x.to("cpu")``,
``y_hat.type(y.dtype)``, ``x.sin()``, ``x.gather(1, idx)``, ``f"{loss:.4f}"``) and delegate to
chainrule's functions; nothing here keeps state (``__slots__ = ()``).
"""

from __future__ import annotations

import importlib
from operator import attrgetter

import numpy as np

from chainrule import _dtype, _torch_names
from chainrule import memory_format as _formats
from chainrule._device import DTYPE_ALIASES, DtypeName, check_device, device
from chainrule._nearest import closest, message
from chainrule.errors import GraphError, NotSupportedError
from chainrule.tensor_methods_extra import TensorMethodsExtra, tensor_has
from chainrule.tensor_methods_extra import _bind as _bind_extra

# torch.XxxTensor type names, as Tensor.type() reports and accepts them
_TYPE_NAMES = {
    "float32": "torch.FloatTensor",
    "float64": "torch.DoubleTensor",
    "float16": "torch.HalfTensor",
    "int64": "torch.LongTensor",
    "int32": "torch.IntTensor",
    "int16": "torch.ShortTensor",
    "int8": "torch.CharTensor",
    "uint8": "torch.ByteTensor",
    "bool": "torch.BoolTensor",
}
_FROM_TYPE_NAME = {name: dtype for dtype, name in _TYPE_NAMES.items()}


def _resolve(dtype) -> np.dtype:
    if isinstance(dtype, str):
        dtype = _FROM_TYPE_NAME.get(dtype, DTYPE_ALIASES.get(dtype.removeprefix("torch."), dtype))
    return _dtype.resolve_dtype(dtype)


def _is_device(value) -> bool:
    """A positional argument of ``to()`` that names a device: PyTorch reads every string so
    (``to("float64")`` is an invalid device there); ``cr.float64`` is a dtype name."""
    return isinstance(value, str) and not isinstance(value, DtypeName)


class _AllDims:
    """The default ``dim`` of ``sum``/``mean``: every dim, as ``None``, but told apart from a
    ``dim=None`` the caller wrote (PyTorch names ``x.sum()`` SumBackward0, ``x.sum(None)``
    SumBackward1)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "None"


ALL_DIMS = _AllDims()

_NON_LEAF_HINT = (
    " If you want to use a computed variable in a subgraph that doesn't require differentiation "
    "use var_no_grad = var.detach()."
)


class TensorMethods(TensorMethodsExtra):
    """PyTorch's Tensor methods on chainrule's Tensor (mixed into :class:`chainrule.Tensor`)."""

    __slots__ = ()

    def _set_requires_grad(self, value) -> None:
        if not isinstance(value, bool):  # PyTorch's words and class
            raise RuntimeError(f"requires_grad must be a bool, got {type(value).__name__}")
        if self._ctx is not None:  # PyTorch's words
            tail = "" if value else _NON_LEAF_HINT
            raise GraphError(f"you can only change requires_grad flags of leaf variables.{tail}")
        self.requires_grad_(value)

    # Read as the slot itself (a C getter, no Python frame); the engine and Function.apply
    # read and write the slot ``_requires_grad`` directly, so assigning is the only cost.
    requires_grad = property(attrgetter("_requires_grad"), _set_requires_grad)

    # ---- dtype and device ---------------------------------------------------------------
    def _as(self, dtype):
        dtype = _resolve(dtype)
        if self.dtype == dtype:
            return self  # PyTorch returns the tensor itself when nothing changes
        return _ops.cast(self, dtype)

    def to(self, *args, **kwargs):
        """Convert dtype and/or place on a device: ``to(dtype)``, ``to("cpu")``,
        ``to(device, dtype)``, ``to(other)``, ``to(dtype=..., device=...)``.

        Only the CPU exists here: another device raises :class:`NotImplementedError`. Returns
        the tensor itself when nothing changes, as PyTorch does.
        """
        kwargs.pop("non_blocking", None)
        copy = kwargs.pop("copy", False)
        dtype, where = kwargs.pop("dtype", None), kwargs.pop("device", None)
        layout = kwargs.pop("memory_format", _formats.preserve_format)
        if kwargs:
            raise TypeError(f"to() got unexpected keyword arguments {sorted(kwargs)}")
        for arg in args:
            if isinstance(arg, TensorMethods):
                dtype = arg.dtype
            elif _is_device(arg):
                where = arg
            elif arg is not None:
                dtype = arg
        check_device(where)
        out = self if dtype is None else self._as(dtype)
        out = out.clone() if copy and out is self else out
        return _formats.laid_out(out, layout, "to")

    def cpu(self):
        """The tensor itself (chainrule's tensors always live on the CPU)."""
        return self

    def cuda(self, *args, **kwargs):
        check_device("cuda")

    @property
    def device(self):
        """Always ``device(type='cpu')``."""
        return device("cpu")

    @property
    def is_cuda(self) -> bool:
        return False

    def type(self, dtype=None):
        """Without an argument, the type name (``'torch.FloatTensor'``); with one, a converted
        tensor (``t.type(torch.long)``, ``t.type(other.dtype)``, ``t.type('torch.LongTensor')``)."""
        if dtype is None:
            return _TYPE_NAMES.get(self.dtype.name, f"torch.{self.dtype.name}")
        return self._as(dtype)

    def long(self):
        return self._as("int64")

    def int(self):
        return self._as("int32")

    def bool(self):
        return self._as("bool")

    def half(self):
        return self._as("float16")

    def float(self):
        return self._as("float32")

    def double(self):
        return self._as("float64")

    def contiguous(self, memory_format=_formats.contiguous_format):
        """Itself when its memory is laid out row by row (or in ``memory_format``'s order,
        e.g. ``cr.channels_last``), else a copy that is (in the graph)."""
        return _formats.laid_out(self, memory_format, "contiguous")

    def is_contiguous(self, memory_format=_formats.contiguous_format) -> bool:
        return _formats.is_in(self.array, _formats.check(memory_format, "is_contiguous"))

    def is_floating_point(self) -> bool:
        return self.dtype.kind == "f"

    def element_size(self) -> int:
        return self.dtype.itemsize

    def new_zeros(self, *size, dtype=None, requires_grad=False, device=None):
        return _creation.zeros(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, requires_grad=False, device=None):
        return _creation.ones(*size, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, requires_grad=False, device=None):
        dt = dtype or self.dtype
        return _creation.full(size, fill_value, dtype=dt, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, requires_grad=False, device=None):
        dt = dtype or self.dtype
        return _creation.tensor(data, dtype=dt, requires_grad=requires_grad)

    # ---- arithmetic with PyTorch's names --------------------------------------------------
    def t(self):
        """The transpose of a 1-D or 2-D tensor (of 1-D: a new view of it, as in PyTorch)."""
        if self.ndim > 2:
            raise ValueError(f"t() expects a tensor with <= 2 dimensions, got {self.ndim}")
        return _shape.T.apply(self, axes=tuple(reversed(range(self.ndim))))  # 1-D: a view

    def neg(self):
        return _ops.neg(self)

    def add(self, other, *, alpha=1):
        _arith.check_alpha(self, other, alpha)
        return _ops.add(self, _arith.alpha_times(self, other, alpha))

    def sub(self, other, *, alpha=1):
        _arith.check_alpha(self, other, alpha)
        return _ops.sub(self, _arith.alpha_times(self, other, alpha, subtract=True))

    def mul(self, other):
        return _ops.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        return _rounded.divide(self, other, rounding_mode=rounding_mode)

    multiply = mul
    divide = div
    subtract = sub
    true_divide = div

    def mm(self, other):
        return _matmul.mm(self, other)

    def square(self):
        return _arith.square(self)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def logical_not(self):
        return _creation.as_tensor(np.logical_not(self.array))

    def __invert__(self):
        """``~mask``: logical not of a bool tensor, bitwise not of an integer tensor."""
        values = self.array
        if values.dtype.kind not in "biu":
            raise TypeError(
                f"~ (bitwise not) is only defined for bool and integer tensors, got {self.dtype}"
            )
        return _creation.as_tensor(np.invert(values))

    def __index__(self) -> int:
        """``items[t]`` and ``range(t)`` with a one-element integer tensor, as in PyTorch."""
        if self.dtype.kind not in "iub" or self.numel() != 1:
            raise TypeError(
                f"only integer tensors of a single element can be converted to an index, got "
                f"dtype {self.dtype} and shape {self.shape}"
            )
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"`` formats a one-element tensor's value; an empty spec gives str()."""
        if not spec:
            return str(self)
        if self.numel() != 1:
            raise TypeError(
                f"format spec {spec!r} needs a tensor with one element, got shape {self.shape}; "
                f"format t.tolist() or one element"
            )
        return format(self.item(), spec)

    # ---- math and indexing ops as methods --------------------------------------------------
    def sin(self):
        return _math.sin(self)

    def cos(self):
        return _math.cos(self)

    def tan(self):
        return _math.tan(self)

    def asin(self):
        return _math.asin(self)

    def acos(self):
        return _math.acos(self)

    def atan(self):
        return _math.atan(self)

    def atan2(self, other):
        return _math.atan2(self, other)

    def sinh(self):
        return _math.sinh(self)

    def cosh(self):
        return _math.cosh(self)

    def floor(self):
        return _math.floor(self)

    def ceil(self):
        return _math.ceil(self)

    def round(self, decimals: int | None = None):
        return _math.round(self, decimals)

    def trunc(self):
        return _math.trunc(self)

    def sign(self):
        return _math.sign(self)

    def rsqrt(self):
        return _math.rsqrt(self)

    def reciprocal(self):
        return _math.reciprocal(self)

    def erf(self):
        return _math.erf(self)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        return _math.nan_to_num(self, nan, posinf, neginf)

    def log1p(self):
        return _math.log1p(self)

    def expm1(self):
        return _math.expm1(self)

    @property
    def mT(self):  # noqa: N802 - PyTorch's name
        """The last two dimensions swapped (a batch of matrices, each transposed)."""
        if self.ndim < 2:
            raise ValueError(f"mT needs at least 2 dimensions, got a tensor of shape {self.shape}")
        return _ops.swapaxes(self, -2, -1)

    def flip(self, *dims):
        """``t.flip(0)``, ``t.flip(0, 1)`` or ``t.flip((0, 1))``: a reversed copy."""
        return _shape.flip(self, dims[0] if len(dims) == 1 else dims)

    def roll(self, shifts, dims=None):
        return _shape.roll(self, shifts, dims)

    def repeat(self, *sizes):
        return _shape.repeat(self, *sizes)

    def tile(self, *dims):  # x.tile(2, 1) or x.tile((2, 1)), as PyTorch's
        return _shape.tile(self, dims[0] if len(dims) == 1 else dims)

    def tril(self, diagonal=0):
        return _triangle.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _triangle.triu(self, diagonal)

    def dot(self, other):
        return _matmul.dot(self, other)

    def outer(self, other):
        return _matmul.outer(self, other)

    def chunk(self, chunks, dim=0):
        return _ops.chunk(self, chunks, dim=dim)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return _reduce.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        return _reduce.nanmean(self, dim, keepdim, dtype=dtype)

    def view_as(self, other):
        return self.view(*other.shape)

    def expand_as(self, other):
        return self.expand(*other.shape)

    def type_as(self, other):
        """This tensor converted to ``other``'s dtype (itself when it already has it)."""
        return self if self.dtype == other.dtype else self._as(other.dtype)

    def nelement(self) -> int:
        return self.numel()

    def trace(self):
        """The sum of the main diagonal of a 2-D tensor, as ``torch.trace``."""
        return _diagonal.trace(self)

    def diag(self, diagonal=0):
        return _diagonal.diag(self, diagonal)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return _diagonal.diagonal(self, offset, dim1, dim2)

    def median(self, dim=None, keepdim=False):
        return _selection.median(self, dim, keepdim)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):  # noqa: A002
        return _selection.unique(self, sorted, return_inverse, return_counts, dim)

    def nonzero(self, *, as_tuple=False):
        return _selection.nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        return _selection.argwhere(self)

    def bincount(self, weights=None, minlength=0):
        return _selection.bincount(self, weights, minlength)

    def histc(self, bins=100, min=0, max=0):  # noqa: A002 - PyTorch's names
        return _selection.histc(self, bins, min, max)

    def masked_select(self, mask):
        return _selection.masked_select(self, mask)

    def lerp(self, end, weight):
        return _math.lerp(self, end, weight)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _linalg_extra.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _linalg_extra.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addcmul(self, tensor1, tensor2, *, value=1):
        return _linalg_extra.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        return _linalg_extra.addcdiv(self, tensor1, tensor2, value=value)

    def kron(self, other):
        return _linalg_extra.kron(self, other)

    def cross(self, other, dim=None):
        return _linalg_extra.cross(self, other, dim)

    def cumprod(self, dim, *, dtype=None):
        return _cumulative.cumprod(self, dim, dtype=dtype)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return _cumulative.repeat_interleave(self, repeats, dim, output_size=output_size)

    def mode(self, dim=-1, keepdim=False):
        return _cumulative.mode(self, dim, keepdim)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return _shape.diff(self, n, dim, prepend, append)

    def logical_and(self, other):
        return _predicates.logical_and(self, other)

    def logical_or(self, other):
        return _predicates.logical_or(self, other)

    def logical_xor(self, other):
        return _predicates.logical_xor(self, other)

    def bmm(self, other):
        return _matmul.bmm(self, other)

    def sort(self, dim=-1, descending=False, stable=False):
        return _sorting.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _sorting.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):  # noqa: A002 - PyTorch's name
        return _sorting.topk(self, k, dim, largest, sorted)

    def floor_divide(self, other):
        return _ops.floor_divide(self, other)

    def remainder(self, other):
        return _ops.remainder(self, other)

    def fmod(self, other):
        return _ops.fmod(self, other)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return _norm.norm(self, p, dim, keepdim, dtype)

    # ---- tests on values (bool results, no gradient) ------------------------------------
    def isnan(self):
        return _predicates.isnan(self)

    def isinf(self):
        return _predicates.isinf(self)

    def isfinite(self):
        return _predicates.isfinite(self)

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _predicates.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        return _predicates.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other):
        return _predicates.equal(self, other)

    def count_nonzero(self, dim=None):
        return _predicates.count_nonzero(self, dim)

    def gather(self, dim, index):
        return _indexing.gather(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None, reduce=None):
        if src is not None and not isinstance(src, TensorMethods):
            src, value = None, src  # scatter(dim, index, 1.0)
        return _indexing.scatter(self, dim, index, src, value=value, reduce=reduce)

    def index_select(self, dim, index):
        return _indexing.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        return _indexing.masked_fill(self, mask, value)

    def cumsum(self, dim, *, dtype=None):
        return _indexing.cumsum(self, dim, dtype=dtype)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return _indexing.prod(self, dim, keepdim, dtype=dtype)


# PyTorch Tensor methods chainrule lacks, with the nearest spelling (see __getattr__)
_NOT_SUPPORTED = {
    "cuda": "chainrule computes on the CPU only: leave the tensor where it is",
    "pin_memory": "chainrule computes on the CPU only: nothing to pin",
}


class _NotSupported:
    """A PyTorch Tensor method chainrule lacks: reading it raises NotSupportedError (an
    AttributeError, so ``hasattr`` is False) naming the nearest spelling (the hint here, else
    the closest names Tensor has). One is set for every name of ``_torch_names.TENSOR`` that
    Tensor lacks (see :func:`_bind`); ``dir(tensor)`` leaves them out.

    A descriptor per name rather than ``__getattr__`` on the class: a class with
    ``__getattr__`` loses CPython's fast attribute look-up for every ``t.array`` (measured: an
    op's forward 1.16 → 1.38 µs).
    """

    def __init__(self, name: str, hint: str | None = None):
        self.name, self.hint = name, hint

    def __get__(self, obj, owner=None):
        hint = self.hint
        if hint is None:
            cls = owner or type(obj)
            have = [n for n in dir(cls) if tensor_has(cls, n)]
            hint = closest(self.name, have, "chainrule.Tensor")
        raise NotSupportedError(message(f"torch.Tensor.{self.name}", hint))


for _name, _hint in _NOT_SUPPORTED.items():
    setattr(TensorMethods, _name, _NotSupported(_name, _hint))

_REPLACES = ("to", "float", "double")
# bound by _bind(): they import Tensor themselves
_creation = _ops = _indexing = _math = _shape = _norm = _predicates = _sorting = _matmul = None
_diagonal = _selection = _linalg_extra = _cumulative = _reduce = _rounded = _arith = None
_triangle = None


def _bind() -> None:
    """Called once by ``chainrule/__init__.py`` when every module is loaded: binds the modules
    the methods call, and lets the methods above win over Tensor's own older ``to``, ``float``
    and ``double`` (no device, always a copy) until tensor.py drops them."""
    global _creation, _ops, _indexing, _math, _shape, _norm, _predicates, _sorting, _matmul
    global _diagonal, _selection, _linalg_extra, _cumulative, _reduce, _rounded, _arith, _triangle
    from chainrule import creation as _creation
    from chainrule import ops as _ops
    from chainrule.ops import arith_forms as _arith
    from chainrule.ops import cumulative as _cumulative
    from chainrule.ops import diagonal as _diagonal
    from chainrule.ops import indexing as _indexing
    from chainrule.ops import linalg_extra as _linalg_extra
    from chainrule.ops import math as _math
    from chainrule.ops import reduce as _reduce
    from chainrule.ops import rounded_division as _rounded
    from chainrule.ops import selection as _selection

    _matmul = importlib.import_module("chainrule.ops.matmul")  # ops.matmul is also a function
    from chainrule.ops import norm as _norm
    from chainrule.ops import predicates as _predicates
    from chainrule.ops import shape as _shape
    from chainrule.ops import sorting as _sorting
    from chainrule.ops import triangle as _triangle
    from chainrule.tensor import Tensor

    _bind_extra()
    for name in _REPLACES:
        if name in Tensor.__dict__:
            setattr(Tensor, name, TensorMethods.__dict__[name])
    for name in _torch_names.TENSOR:  # PyTorch's other names: NotSupportedError, not a bare
        # AttributeError (a descriptor each: no __getattr__ slowing every look-up)
        if name[0] != "_" and name not in _NOT_SUPPORTED and not hasattr(Tensor, name):
            setattr(TensorMethods, name, _NotSupported(name))
