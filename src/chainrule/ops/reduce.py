"""Reductions: sum, mean, max, min, var, std, logsumexp, argmax, argmin."""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DimensionError, DTypeError
from chainrule.ops._util import (
    expand_reduced,
    floating,
    in_dtype_of,
    normalize_axis,
    operand,
    opmath,
    to_result_dtype,
)
from chainrule.ops.elementwise import Div, _binary, where
from chainrule.ops.shape import broadcast_to
from chainrule.ops.variance_no_dof import VarMeanNoDof, VarNoDof
from chainrule.tensor import Tensor
from chainrule.tensor_methods import ALL_DIMS


def _unreduce(grad: Tensor, fn) -> Tensor:
    """A reduction's output gradient reshaped to broadcast over its input (tensor version of
    :func:`expand_reduced`)."""
    if fn.axes is None:
        return grad.reshape((1,) * len(fn.in_shape)) if fn.in_shape else grad
    if fn.keepdims:
        return grad
    shape = list(fn.in_shape)
    for axis in fn.axes:
        shape[axis] = 1
    return grad.reshape(tuple(shape))


class Sum(Function):
    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)
    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "Σ"
    formulas = ("1",)

    def forward(self, x, axes, keepdims):
        self.in_shape, self.axes, self.keepdims = x.shape, axes, keepdims
        if x.dtype == np.float16:  # summed in float32 and rounded once, as PyTorch's
            return np.sum(opmath(x), axis=axes, keepdims=keepdims).astype(x.dtype)
        return np.sum(x, axis=axes, keepdims=keepdims)

    def backward(self, grad):
        grad = expand_reduced(grad, self.in_shape, self.axes, self.keepdims)
        return (np.broadcast_to(grad, self.in_shape),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (broadcast_to(_unreduce(grad, self), self.in_shape),)


class Mean(Function):
    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)
    saves_inputs = False  # backward reads shapes only
    saves_tensors = False  # a second backward() may pass (Function.release)
    label = "mean"
    formulas = ("1/n",)

    def forward(self, x, axes, keepdims):
        self.in_shape, self.axes, self.keepdims = x.shape, axes, keepdims
        out = np.mean(x, axis=axes, keepdims=keepdims)
        self.count = x.size // builtins.max(out.size, 1) if x.size else 0
        return out

    def explained_constants(self) -> str:
        """The n of the formula, for the explanation (never called by forward or backward)."""
        return f"n = {self.count}"

    def backward(self, grad):
        grad = expand_reduced(grad, self.in_shape, self.axes, self.keepdims) / builtins.max(
            self.count, 1
        )
        return (np.broadcast_to(grad, self.in_shape),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        unreduced = _unreduce(grad, self) / builtins.max(self.count, 1)
        return (broadcast_to(unreduced, self.in_shape),)


def refuse_empty(shape: tuple, axes, name: str) -> None:
    """Max, min and their indices have no value over nothing: PyTorch's IndexError (its
    RuntimeError for a full reduction), where NumPy's ValueError would say less."""
    if axes is None:
        raise DimensionError(
            f"{name}(): Expected reduction dim to be specified for input.numel() == 0 (shape "
            f"{shape}), as in PyTorch; name a dim whose size is not 0"
        )
    for axis in (axes,) if isinstance(axes, (int, np.integer)) else axes:
        if shape[axis] == 0:
            raise DimensionError(
                f"{name}(): Expected reduction dim {axis} to have non-zero size (shape {shape}), "
                f"as in PyTorch"
            )


class _Extreme(Function):
    """Shared by Max and Min: the gradient goes to the extreme element(s); ties share it."""

    reducer = None

    def forward(self, x, axes, keepdims):
        if not x.size:
            refuse_empty(x.shape, axes, type(self).__name__.lower())
        self.x, self.axes, self.keepdims = x, axes, keepdims
        self.out = type(self).reducer(x, axis=axes, keepdims=True)
        return self.out if keepdims else _drop(self.out, self.axes)

    nan_shares = True  # max()/min(): a NaN result's gradient goes to the NaNs (PyTorch)

    def backward(self, grad):
        grad = expand_reduced(grad, self.x.shape, self.axes, self.keepdims)
        hit = self.x == self.out
        nan = np.isnan(self.out).any()
        if nan and self.nan_shares:
            hit |= np.isnan(self.x) & np.isnan(self.out)
        count = hit.sum(axis=self.axes, keepdims=True).astype(grad.dtype)  # not int: keep float32
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_x = np.where(hit, grad / count, np.zeros((), dtype=grad.dtype))
        if nan and not self.nan_shares:  # amax/amin: a NaN slice's gradient is NaN (PyTorch)
            grad_x = np.where(count == 0, np.array(np.nan, grad_x.dtype), grad_x)
        return (grad_x,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives): where the extremes
        sit is constant almost everywhere, so the mask and the count come from the arrays."""
        hit = self.x == self.out
        nan = np.isnan(self.out).any()
        if nan and self.nan_shares:
            hit |= np.isnan(self.x) & np.isnan(self.out)
        count = hit.sum(axis=self.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = grad.reshape(self.out.shape) / Tensor._make(count.astype(grad.dtype), False)
        grad_x = where(hit, share, 0)
        if nan and not self.nan_shares:
            grad_x = where(count == 0, np.nan, grad_x)
        return (grad_x,)


class Max(_Extreme):
    label = "max"
    formulas = ("1/(number of maxima) at a maximum, else 0",)
    reducer = staticmethod(np.max)


class Min(_Extreme):
    label = "min"
    formulas = ("1/(number of minima) at a minimum, else 0",)
    reducer = staticmethod(np.min)


class AMax(Max):
    """amax: Max, except that a slice whose maximum is NaN sends NaN back (PyTorch's amax)."""

    label = "amax"
    nan_shares = False


class AMin(Min):
    """amin: Min, except that a slice whose minimum is NaN sends NaN back (PyTorch's amin)."""

    label = "amin"
    nan_shares = False


def _drop(kept: np.ndarray, axes) -> np.ndarray:
    return kept.reshape(()) if axes is None else np.squeeze(kept, axis=axes)


class LogSumExp(Function):
    """ln Σ exp(x), computed as m + ln Σ exp(x − m) with m = max(x) so nothing overflows."""

    label = "logsumexp"
    formulas = ("softmax(x)",)

    def forward(self, x, axes, keepdims):
        self.x, self.axes, self.keepdims = x, axes, keepdims
        if x.size == 0:  # ln of an empty sum is −∞, as PyTorch (NumPy's max has no identity)
            self.out = np.full(np.sum(x, axis=axes, keepdims=True).shape, -np.inf, x.dtype)
            return self.out if keepdims else _drop(self.out, axes)
        shift = np.max(x, axis=axes, keepdims=True)
        top = (x == shift) & np.isfinite(shift)
        shift = np.where(np.isfinite(shift), shift, np.zeros((), dtype=x.dtype))
        # Σ exp(x − m) = count + rest, with count the maxima's exact 1s: ln(count) +
        # log1p(rest/count) keeps a tiny result (e.g. ln(1 + e^−37)) instead of rounding to 0.
        count = np.sum(top, axis=axes, keepdims=True).astype(x.dtype)
        rest = np.sum(np.where(top, 0, np.exp(x - shift)), axis=axes, keepdims=True)
        some = count > 0
        ones = np.where(some, count, 1)
        with np.errstate(divide="ignore"):  # no finite maximum: ln Σ as before (may be −inf)
            fallback = np.log(np.where(some, 1, rest))
        self.out = shift + np.where(some, np.log(ones) + np.log1p(rest / ones), fallback)
        return self.out if keepdims else _drop(self.out, axes)

    def backward(self, grad):
        grad = expand_reduced(grad, self.x.shape, self.axes, self.keepdims)
        return (grad * np.exp(self.x - self.out),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        out = LogSumExp.apply(x, axes=self.axes, keepdims=True)
        return (grad.reshape(out.shape) * (x - out).exp(),)


def _keep(keepdims, keepdim) -> bool:
    """NumPy's ``keepdims`` or PyTorch's ``keepdim``: either spelling works."""
    return bool(keepdims if keepdim is None else keepdim)


class SumDim(Sum):
    """``sum`` with a ``dim`` written out (``dim=None`` too): PyTorch's ``SumBackward1``."""


class MeanDim(Mean):
    """``mean`` with a ``dim`` written out (``dim=None`` too): PyTorch's ``MeanBackward1``."""


_NAMED = {Sum: SumDim, Mean: MeanDim}


def _reduce(op, x, axis, keepdims, dim, name):
    if axis is ALL_DIMS and dim is ALL_DIMS:
        axis = dim = None
    else:  # the call named its dims: PyTorch's other overload (SumBackward1)
        op = _NAMED.get(op, op)
        axis, dim = (None if a is ALL_DIMS else a for a in (axis, dim))
    x = operand(x)
    axes = normalize_axis(axis, dim, x.array.ndim, name, empty_is_all=True)
    if x.array.ndim == 0:
        axes = None
    return op.apply(x, axes=axes, keepdims=keepdims)


def sum(x, axis=ALL_DIMS, keepdims=False, *, dim=ALL_DIMS, keepdim=None, dtype=None) -> Tensor:  # noqa: A001
    """Sum over ``axis``/``dim`` (None: all; an int or a tuple); ``keepdim`` keeps them as 1s;
    ``dtype`` converts the input first, as PyTorch's ``sum(dtype=)``."""
    if dtype is None and x.__class__ is Tensor and x.array.dtype.kind == "u":
        dtype = "int64"  # PyTorch sums unsigned integers to int64 (NumPy: uint64)
    x = _as_dtype(x, dtype)
    result = _reduce(Sum, x, axis, _keep(keepdims, keepdim), dim, "sum")
    return result if dtype is None else in_dtype_of(result, x)


def mean(x, axis=ALL_DIMS, keepdims=False, *, dim=ALL_DIMS, keepdim=None, dtype=None) -> Tensor:
    """Mean over ``axis``/``dim`` (None: all; an int or a tuple); ``dtype`` converts the input
    first; an integer or bool tensor needs it (PyTorch raises rather than pick a dtype)."""
    if dtype is None and isinstance(x, Tensor) and x.array.dtype.kind in "biu":
        _refuse_integers(x, "mean", " or pass dtype=cr.float32")
    x = x if dtype is None else operand(x).to(dtype=dtype)  # float only: no graph check
    if dtype is not None and x.array.dtype.kind != "f":
        raise DTypeError(
            f"mean(): could not infer output dtype. Optional dtype must be a floating-point "
            f"dtype (as in PyTorch), got {x.array.dtype}"
        )
    return _reduce(Mean, x, axis, _keep(keepdims, keepdim), dim, "mean")


def _refuse_integers(x, name: str, other_fix: str = "") -> None:
    """PyTorch's mean, var and std take floating-point tensors only."""
    raise DTypeError(
        f"{name}() needs a floating-point tensor, got dtype {x.array.dtype} (PyTorch raises "
        f"here too); convert it first with x.float(){other_fix}"
    )


def _as_dtype(x, dtype):
    # without dtype= the input goes on untouched (_reduce makes it a tensor once)
    return x if dtype is None else to_result_dtype(x, dtype, "sum")  # a name too ("float64")


class _Select(Function):
    """The value at a chosen index along one dim (max/min with ``dim``): the gradient goes to
    that one element only, as in PyTorch (ties are not shared, unlike the full reduction)."""

    saves_inputs = False  # backward reads shapes only

    label = "select"
    formulas = ("1 at the selected element, else 0",)

    def forward(self, x, index, dim, keepdim):
        self.shape, self.index, self.dim, self.keepdim = x.shape, index, dim, keepdim
        out = np.take_along_axis(x, index, axis=dim)
        return out if keepdim else np.squeeze(out, axis=dim)

    def backward(self, grad):
        full = np.zeros(self.shape, dtype=grad.dtype)
        if not self.keepdim:
            grad = np.expand_dims(grad, self.dim)
        np.put_along_axis(full, self.index, grad, axis=self.dim)
        return (full,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.getitem import PlaceAt

        if not self.keepdim:
            grad = grad.unsqueeze(self.dim)
        where = list(np.indices(self.index.shape, sparse=True))
        where[self.dim] = self.index
        return (PlaceAt.apply(grad, shape=self.shape, index=tuple(where), advanced=True),)


class MaxDim(_Select):
    """``max(x, dim)``'s values: PyTorch's ``MaxBackward0``."""


class MinDim(_Select):
    """``min(x, dim)``'s values: PyTorch's ``MinBackward0``."""


# PyTorch's torch.return_types: a named pair that unpacks as (values, indices).
MaxResult = namedtuple("max", ["values", "indices"])
MinResult = namedtuple("min", ["values", "indices"])


def _extreme(x, dim, keepdim, axis, keepdims, op, pick, result, name):
    if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
        from chainrule.ops.elementwise import maximum, minimum

        return (maximum if name == "max" else minimum)(x, dim)
    keep = _keep(keepdims, keepdim)
    if dim is None:  # a full reduction or NumPy's axis=: the values only; ties share the gradient
        return _reduce(op, x, axis, keep, None, name)
    if axis is not None:
        raise TypeError(f"{name}() got both dim= and axis=; pass one")
    if isinstance(dim, (bool, np.bool_)):  # max(x, True) is not max(x, 1) (nor keepdim)
        raise TypeError(f"{name}(): dim must be an integer, got {dim!r}; keepdim is keepdim=True")
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(
            f"{name}(dim) takes one dim, as in PyTorch, got {dim!r}; for the values over several "
            f"dims use a{name}(x, dim={tuple(dim)!r}) or {name}(x, axis=...)"
        )
    x = operand(x)
    (axis_,) = normalize_axis(None, int(dim), x.array.ndim, name)
    if x.array.ndim == 0:
        return result(x.clone(), Tensor._make(np.zeros((), np.int64), False))
    if not x.array.size:
        refuse_empty(x.array.shape, axis_, name)
    index = np.expand_dims(pick(x.array, axis=axis_), axis_)
    select = MaxDim if name == "max" else MinDim
    values = select.apply(x, index=index, dim=axis_, keepdim=keep)
    indices = index if keep else np.squeeze(index, axis=axis_)
    return result(values, Tensor._make(indices.astype(np.int64, copy=False), False))


def max(x, dim=None, keepdim=None, *, axis=None, keepdims=False):  # noqa: A001
    """The largest value, as in PyTorch.

    ``max(x)`` is the largest element (tied maxima share the gradient evenly);
    ``max(x, dim)`` is a named pair ``(values, indices)`` along ``dim``; ``max(a, b)`` with a
    tensor ``b`` is the elementwise maximum. ``axis=`` gives NumPy's answer: the values only.
    """
    return _extreme(x, dim, keepdim, axis, keepdims, Max, np.argmax, MaxResult, "max")


def min(x, dim=None, keepdim=None, *, axis=None, keepdims=False):  # noqa: A001
    """The smallest value: ``min(x)``, ``min(x, dim) -> (values, indices)``, ``min(a, b)``."""
    return _extreme(x, dim, keepdim, axis, keepdims, Min, np.argmin, MinResult, "min")


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """The largest values over one or more dims (no indices); ties share the gradient."""
    return _reduce(AMax, x, axis, _keep(keepdim, keepdims), dim, "amax")


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None) -> Tensor:
    """The smallest values over one or more dims (no indices); ties share the gradient."""
    return _reduce(AMin, x, axis, _keep(keepdim, keepdims), dim, "amin")


def logsumexp(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
    """ln Σ exp(x) over ``axis``/``dim``, stable for any finite input."""
    return _reduce(LogSumExp, floating(x), axis, _keep(keepdims, keepdim), dim, "logsumexp")


def _variance_args(name, axis, unbiased, keepdim, keepdims, correction):
    """PyTorch's positional forms ``var(x, unbiased)`` and ``var(x, dim, unbiased, keepdim)``
    → ``(axis, keepdim, correction)``."""
    if isinstance(axis, (bool, np.bool_)):  # var(x, False): the bool is unbiased, not a dim
        if unbiased is not None:
            raise TypeError(f"{name}() got unbiased twice (a bool where dim goes, and unbiased)")
        axis, unbiased = None, axis
    if unbiased is not None:
        if not isinstance(unbiased, (bool, np.bool_)):
            raise TypeError(
                f"{name}(): unbiased must be True or False, got {unbiased!r} (PyTorch's order "
                f"is {name}(x, dim, unbiased, keepdim); keepdim= by name is clearest)"
            )
        if correction is not None:
            raise TypeError(f"{name}() got both unbiased= and correction=; pass one")
        correction = 1 if unbiased else 0
    return axis, _keep(keepdim, keepdims), 1 if correction is None else correction


def var(
    x, axis=None, unbiased=None, keepdim=None, *, dim=None, keepdims=None, correction=None
) -> Tensor:
    """Variance Σ(x − mean)² / (n − correction), as in PyTorch: ``correction=1`` (the unbiased
    estimate) unless told otherwise; ``unbiased=False`` or ``correction=0`` is NumPy's.

    Positional arguments follow PyTorch: ``var(x, dim, unbiased, keepdim)`` and
    ``var(x, unbiased)``; NumPy's ``axis=``/``keepdims=`` are accepted by name.
    """
    axis, keep, correction = _variance_args("var", axis, unbiased, keepdim, keepdims, correction)
    x = operand(x)
    if x.array.dtype == np.float16:
        return _in_float32(var, x, axis, None, keep, dim=dim, correction=correction)
    return _variance(x, axis, dim, keep, correction, Var)


def _in_float32(fn, x, *args, **kwargs):
    """``fn`` of float16 ``x`` computed in float32 and rounded back once, as PyTorch's CPU
    variance (its squares of deviations overflow float16 from 256 on: the std of pixel values
    would be inf)."""
    out = fn(x.float(), *args, **kwargs)
    return tuple(o.half() for o in out) if isinstance(out, tuple) else out.half()


class Var(Div):
    """var's last step, Σ(x − mean)² ÷ (n − correction): the op PyTorch's one ``VarBackward0``
    names (a subclass of :class:`Div`, for the name only)."""


class VarMean(Div):
    """var_mean's variance: PyTorch's ``VarMeanBackward0``."""


class VarMeanMean(Mean):
    """var_mean's mean: PyTorch's ``VarMeanBackward0`` (one node there for both outputs)."""


def _variance(x, axis, dim, keep, correction, last_op, name="var"):
    x = operand(x)
    if x.array.dtype.kind in "biu":
        _refuse_integers(x, name)
    axes = normalize_axis(axis, dim, x.array.ndim, "var", empty_is_all=True)
    n = x.array.size if axes is None else int(np.prod([x.array.shape[a] for a in axes]))
    if n - correction <= 0:  # +inf or NaN, with PyTorch's gradient (ops/variance_no_dof.py)
        op = VarMeanNoDof if last_op is VarMean else VarNoDof
        return op.apply(x, axes=axes, keepdims=keep, dof=n - correction, full=axes is None)
    centred = x - mean(x, axis=axes, keepdims=True)
    squares = sum(centred * centred, axis=axes, keepdims=keep)
    if x.array.dtype.itemsize < 8 and n > 1:  # a float32 mean off by δ adds n·δ²: take it out
        drift = sum(centred, axis=axes, keepdims=keep)  # (corrected two-pass; docs/pytorch.md)
        squares = squares - drift * drift / n
    return _binary(last_op, squares, builtins.max(n - correction, 0))


class StdRoot(Function):
    """√v for a variance v.  Local derivative: 1/(2√v), and 0 where v = 0 (PyTorch's std: a
    constant slice gets gradient 0, not the 0·∞ = NaN of a plain square root)."""

    label = "√var"
    formulas = ("1/(2·std), 0 where std = 0",)
    grads_match_inputs = True

    def forward(self, v):
        self.out = np.sqrt(v)
        return self.out

    def backward(self, grad):
        out = self.out
        with np.errstate(divide="ignore", invalid="ignore"):
            local = grad / (2 * out)
        return (np.where(out == 0, np.zeros((), dtype=local.dtype), local),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        out = StdRoot.apply(self.parents[0])
        with np.errstate(divide="ignore", invalid="ignore"):
            local = grad / (2 * out)
        return (where(self.out == 0, 0, local),)


def std(
    x, axis=None, unbiased=None, keepdim=None, *, dim=None, keepdims=None, correction=None
) -> Tensor:
    """Standard deviation √var (``correction=1`` by default, as in PyTorch, with its positional
    order ``std(x, dim, unbiased, keepdim)``); the gradient of a constant slice is 0, as in
    PyTorch."""
    axis, keep, correction = _variance_args("std", axis, unbiased, keepdim, keepdims, correction)
    x = operand(x)
    if x.array.dtype == np.float16:  # the variance may overflow float16 where the std does not
        return _in_float32(std, x, axis, None, keep, dim=dim, correction=correction)
    return StdRoot.apply(_variance(x, axis, dim, keep, correction, Var, "std"))


class StdMean(StdRoot):
    """std_mean's standard deviation: PyTorch's ``StdMeanBackward0``."""


class StdMeanMean(Mean):
    """std_mean's mean: PyTorch's ``StdMeanBackward0`` (one node there for both outputs)."""


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """``(var, mean)`` over ``dim``, as ``torch.var_mean`` (``correction=1`` by default)."""
    dim, keep, correction = _variance_args("var_mean", dim, unbiased, keepdim, None, correction)
    x = operand(x)
    if x.array.dtype == np.float16:
        return _in_float32(var_mean, x, dim, None, keep, correction=correction)
    variance = _variance(x, None, dim, keep, correction, VarMean, "var_mean")
    return variance, _reduce(VarMeanMean, x, None, keep, dim, "var_mean")


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None) -> tuple:
    """``(std, mean)`` over ``dim``, as ``torch.std_mean`` (``correction=1`` by default)."""
    dim, keep, correction = _variance_args("std_mean", dim, unbiased, keepdim, None, correction)
    x = operand(x)
    if x.array.dtype == np.float16:
        return _in_float32(std_mean, x, dim, None, keep, correction=correction)
    variance = _variance(x, None, dim, keep, correction, Var, "std_mean")
    return StdMean.apply(variance), _reduce(StdMeanMean, x, None, keep, dim, "std_mean")


def _not_bool(x, name: str):
    if x.array.dtype.kind == "b":
        raise DTypeError(
            f"{name}() does not support bool input (as in PyTorch); convert first, e.g. "
            f"x.int().{name}(...)"
        )
    return x


def _one_axis(axis, ndim: int, name: str):
    """``argmax``'s one dim, checked as PyTorch checks it (an int in range; a bool, float or
    tuple is a TypeError), or None for all; a 0-d tensor's dim 0 or -1 is all of it."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"{name}(): dim must be an int, got {axis!r:.60}")
    (axis,) = normalize_axis(None, axis, ndim, name)
    return axis if ndim else None


def argmax(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
    """Index of the largest value (an integer tensor, no gradient); not of bools, as in
    PyTorch."""
    x = _not_bool(operand(x), "argmax")
    axis = dim if dim is not None else axis
    keep = _keep(keepdims, keepdim)
    axis = _one_axis(axis, x.array.ndim, "argmax")
    if not x.array.size and x.array.ndim:
        refuse_empty(x.array.shape, axis, "argmax")
    return Tensor._make(np.asarray(np.argmax(x.array, axis=axis, keepdims=keep)), False)


def argmin(x, axis=None, keepdims=False, *, dim=None, keepdim=None) -> Tensor:
    """Index of the smallest value (an integer tensor, no gradient); not of bools, as in
    PyTorch."""
    x = _not_bool(operand(x), "argmin")
    axis = dim if dim is not None else axis
    keep = _keep(keepdims, keepdim)
    axis = _one_axis(axis, x.array.ndim, "argmin")
    if not x.array.size and x.array.ndim:
        refuse_empty(x.array.shape, axis, "argmin")
    return Tensor._make(np.asarray(np.argmin(x.array, axis=axis, keepdims=keep)), False)


def nansum(x, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The sum with NaN counted as zero, as ``torch.nansum``; a NaN's gradient is 0.

    Example:
        >>> import chainrule as cr
        >>> cr.nansum(cr.tensor([1.0, float("nan"), 2.0])).item()
        3.0
    """
    from chainrule.ops.elementwise import where

    x = _as_dtype(x, dtype)
    x = operand(x)
    if x.array.dtype.kind != "f":  # dtype= is kept, as PyTorch's (sum would widen to int64)
        return sum(x, dim=dim, keepdim=keepdim, dtype=None if dtype is None else x.dtype)
    nan = Tensor._make(np.isnan(x.array), False)
    zero = Tensor._make(np.zeros((), x.array.dtype), False)
    return sum(where(nan, zero, x), dim=dim, keepdim=keepdim)


def nanmean(x, dim=None, keepdim: bool = False, *, dtype=None) -> Tensor:
    """The mean of the elements that are not NaN, as ``torch.nanmean`` (NaN where all are)."""
    x = operand(_as_dtype(x, dtype))
    if x.array.dtype.kind != "f":
        raise DTypeError(f"nanmean needs a floating-point tensor (as PyTorch), got {x.array.dtype}")
    axes = normalize_axis(None, dim, x.array.ndim, "nanmean", empty_is_all=True)
    count = np.sum(~np.isnan(x.array), axis=axes, keepdims=bool(keepdim)).astype(x.array.dtype)
    count = np.where(count == 0, np.nan, count).astype(x.array.dtype)  # all NaN: NaN, no warning
    # (its elements' gradient is 0 here; PyTorch's is NaN, from 0·NaN in its nansum backward)
    return nansum(x, dim=dim, keepdim=keepdim) / Tensor._make(count, False)
