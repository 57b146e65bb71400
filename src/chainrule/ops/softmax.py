"""Softmax and log-softmax along one axis, stable for any finite input (the maximum is
subtracted first and the exact 1 it contributes is kept apart from the rest of the sum)."""

from __future__ import annotations

import warnings

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import float_operand as _float_operand
from chainrule.ops._util import normalize_axis
from chainrule.ops.elementwise import where
from chainrule.ops.matmul import row_sum
from chainrule.tensor import Tensor


class _Top:
    """Where the maximum of each slice along ``axis`` sits, to read and write those entries.

    ``np.take_along_axis`` and ``np.put_along_axis`` cost 4–5 µs a call, more than the rest of a
    small softmax together. Along the last axis of a C-ordered array the same entries are one
    fancy index into the flat view (a quarter of a microsecond); other layouts use NumPy's.
    """

    __slots__ = ("index", "axis", "flat")

    def __init__(self, x: np.ndarray, axis: int):
        self.index = x.argmax(axis=axis, keepdims=True)  # the method: np.argmax wraps it
        self.axis = axis
        self.flat = None
        if axis == x.ndim - 1:
            n = x.shape[-1]
            self.flat = self.index + np.arange(0, self.index.size * n, n).reshape(self.index.shape)

    def take(self, a: np.ndarray) -> np.ndarray:
        if self.flat is not None and a.flags.c_contiguous:
            return a.reshape(-1)[self.flat]
        return np.take_along_axis(a, self.index, axis=self.axis)

    def put(self, a: np.ndarray, value) -> None:
        """Write ``value`` at the maxima of ``a`` (a fresh array this module made)."""
        if self.flat is not None and a.flags.c_contiguous:
            a.reshape(-1)[self.flat] = value
        else:
            np.put_along_axis(a, self.index, value, axis=self.axis)


def _softmax_parts(x: np.ndarray, axis: int):
    """Shifted logits x − max, where the max is (:class:`_Top`), r = Σ e^(x−max) over all but
    the max, and ln(1 + r). Splitting off the max's exact 1 lets log1p keep tiny
    log-probabilities exact."""
    top = _Top(x, axis)
    shifted = x - top.take(x)
    e = np.exp(shifted)
    top.put(e, 0)
    rest = e.sum(axis=axis, keepdims=True)
    top.put(e, 1)
    return shifted, e, top, rest, np.log1p(rest)


# Below this many elements the general path's fewer calls win over the row path's fewer passes
# (softmax forward and backward, 1×16: 19.7 against 23.5 µs; about even at 64×128; 128×256:
# 88 against 77 µs).
_ROW_PATH_MIN_SIZE = 8192


def _row_layout(x: np.ndarray, axis: int):
    """(rows, n) when ``axis`` is the last axis of a C-ordered ``x`` of at least
    ``_ROW_PATH_MIN_SIZE`` elements: the layout that :class:`_Rows` handles with flat indices and
    BLAS row sums; None otherwise."""
    if x.size < _ROW_PATH_MIN_SIZE or axis != x.ndim - 1 or not x.flags.c_contiguous:
        return None
    n = x.shape[-1]
    return x.size // n, n


def _shaped(a: np.ndarray, shape: tuple) -> np.ndarray:
    """``a`` in ``shape``, itself when it has it: a reshaped view has a base, and a leaf's
    ``.grad`` copies any array with one (engine._accumulate_leaf), 6 µs on 128×256."""
    return a if a.shape == shape else a.reshape(shape)


_min_reduce = np.minimum.reduce  # the ufunc's reduce: the method's wrapper costs as much again
_max_reduce = np.maximum.reduce


class _Rows:
    """Softmax parts of C-ordered rows (x as (rows, n), the axis last), in the fewest passes.

    The same split as :func:`_softmax_parts` (the max's exact 1 kept apart from the rest r of
    the sum), but each step is one NumPy call over memory: ``argmax`` instead of ``max`` (a
    third of the time), the entries at the maxima read and written through one fancy index into
    the flat view, and r summed as the BLAS product e · ones (a quarter of ``sum(axis=1)``;
    float32 still, in BLAS's order rather than NumPy's pairwise one: the sum of n non-negative
    terms, off by at most a few roundings). A value per row broadcast over the row costs two
    contiguous passes in NumPy 2.4, so each formula below uses as few of them as it can.

    When every entry lies within ±``limit`` the shift by the max is skipped: e = e^x itself
    neither overflows nor leaves the normal range, and e^x / e^max is as exact as e^(x − max)
    (more so: x − max is rounded, x is not). Any other input (large, infinite, NaN) is shifted.
    """

    __slots__ = ("shape", "flat_top", "top_value", "shifted", "rest", "norm")

    def __init__(self, x2: np.ndarray):
        rows, n = x2.shape
        self.shape = x2.shape
        # argmax returns intp; the offsets make it an index into the flat (rows·n) view
        self.flat_top = x2.argmax(axis=1) + np.arange(0, rows * n, n)
        self.top_value = x2.reshape(-1)[self.flat_top]

    def exp_rest(self, x2: np.ndarray, limit: float, keep_shifted: bool) -> np.ndarray:
        """e = e^(x − s) with 0 at the maxima, s = max (or 0 within ±limit); sets r = Σ e / e^(max
        − s) per row and ``norm`` = e^(max − s)·(1 + r), so that softmax = e / norm off the max.
        With ``keep_shifted`` x − max is kept as ``shifted`` (None when it was not needed)."""
        top = self.top_value
        self.shifted = None
        if _min_reduce(x2, axis=None) > -limit and _max_reduce(top) < limit:
            e = np.exp(x2)
            e_top = np.exp(top)
        else:
            shifted = x2 - top[:, None]
            e = np.exp(shifted) if keep_shifted else np.exp(shifted, out=shifted)
            self.shifted = shifted if keep_shifted else None
            e_top = None
        e.reshape(-1)[self.flat_top] = 0
        rest = row_sum(e)
        if e_top is None:
            self.rest, self.norm = rest, rest + 1
        else:
            self.rest = rest = rest / e_top
            self.norm = e_top * (rest + 1)
        return e

    def rows(self, a: np.ndarray) -> np.ndarray:
        """``a`` (an upstream gradient of the input's shape) as C-ordered (rows, n)."""
        return np.ascontiguousarray(a).reshape(self.shape)


# Within these bounds softmax and log-softmax skip the shift by the max (see _Rows). Softmax's
# results are as exact either way, so its bound only keeps e^x and the row sums finite and
# normal; log-softmax then subtracts max + ln(1 + r) in one pass, whose rounding (half a unit
# in the last place of 16) stays within a few float32 roundings of any log-probability.
_SOFTMAX_LIMIT = 60.0
_LOG_SOFTMAX_LIMIT = 16.0


class Softmax(Function):
    """e^(x_i) / Σ_j e^(x_j) along an axis.  Local derivative: p_i·(δ_ij − p_j)."""

    label = "softmax"
    formulas = ("p·(δ − p)  (grad·p − p·Σ grad·p)",)
    rows = None

    def forward(self, x, axis):
        self.axis = axis
        layout = _row_layout(x, axis)
        if layout is not None:
            self.rows = r = _Rows(x.reshape(layout))
            e = r.exp_rest(x.reshape(layout), _SOFTMAX_LIMIT, keep_shifted=False)
            e /= r.norm[:, None]
            e.reshape(-1)[r.flat_top] = 1 / (r.rest + 1)
            self.out = e.reshape(x.shape)
            return self.out
        _, e, self.top, self.rest, _ = _softmax_parts(x, axis)
        self.out = e / (1 + self.rest)
        return self.out

    def backward(self, grad):
        if self.rows is not None:
            return (self._backward_rows(grad),)
        p, axis, top = self.out, self.axis, self.top
        gp = grad * p
        dot = gp.sum(axis=axis, keepdims=True)
        grad_x = gp - p * dot
        # At the max, p·(g − Σgp) = p·(g·(1 − p) − Σ_others g·p), with 1 − p = r/(1 + r) exact.
        g_top = top.take(grad)
        p_top = top.take(p)
        others = dot - g_top * p_top
        exact = p_top * (g_top * (self.rest / (1 + self.rest)) - others)
        top.put(grad_x, exact)
        return (grad_x,)

    def _backward_rows(self, grad):
        r = self.rows
        g = r.rows(grad)
        p = self.out.reshape(r.shape)
        dot = row_sum(g * p)
        grad_x = g - dot[:, None]
        grad_x *= p  # p·(g − Σ g·p): one broadcast pass, where g·p − p·Σ g·p takes two
        # the max's entry as in backward, with 1 − p = r/(1 + r)
        g_top = g.reshape(-1)[r.flat_top]
        p_top = p.reshape(-1)[r.flat_top]
        others = dot - g_top * p_top
        rest = r.rest
        grad_x.reshape(-1)[r.flat_top] = p_top * (g_top * (rest / (rest + 1)) - others)
        return _shaped(grad_x, self.out.shape)

    def backward_graph(self, grad):
        """The gradient as a tensor in the graph (for second derivatives), exact at each
        slice's maximum as in backward: there 1 − p is the sum of the other p's."""
        (x,) = self.parents
        top = _top_mask(x.array, self.axis)
        p = Softmax.apply(x, axis=self.axis)
        gp = grad * p
        dot = gp.sum(axis=self.axis, keepdims=True)
        others_p = where(top, 0, p).sum(axis=self.axis, keepdims=True)
        others_gp = where(top, 0, gp).sum(axis=self.axis, keepdims=True)
        return (where(top, p * (grad * others_p - others_gp), gp - p * dot),)


class LogSoftmax(Function):
    """x_i − ln Σ_j e^(x_j) along an axis.  Local derivative: δ_ij − softmax(x)_j."""

    label = "log_softmax"
    formulas = ("δ − softmax(x)  (grad − softmax·Σ grad)",)
    rows = None

    def forward(self, x, axis):
        self.axis = axis
        layout = _row_layout(x, axis)
        if layout is not None:
            x2 = x.reshape(layout)
            self.rows = r = _Rows(x2)
            self.e = r.exp_rest(x2, _LOG_SOFTMAX_LIMIT, keep_shifted=True)
            log_rest = np.log1p(r.rest)
            if r.shifted is None:  # x − (max + ln(1 + r)): one pass (PyTorch's formula)
                out = x2 - (r.top_value + log_rest)[:, None]
            else:
                out = r.shifted
                out -= log_rest[:, None]
            out.reshape(-1)[r.flat_top] = -log_rest  # exact: ln(1 + r) with r tiny keeps digits
            self.out = out.reshape(x.shape)
            return self.out
        shifted, _, self.top, self.rest, log_total = _softmax_parts(x, axis)
        self.out = shifted - log_total
        return self.out

    def backward(self, grad):
        if self.rows is not None:
            return (self._backward_rows(grad),)
        axis, top = self.axis, self.top
        total = grad.sum(axis=axis, keepdims=True)
        grad_x = grad - np.exp(self.out) * total
        # At the max: g − p·Σg = (g − Σg) + (1 − p)·Σg, exact when only the max has a gradient.
        g_top = top.take(grad)
        exact = (g_top - total) + (self.rest / (1 + self.rest)) * total
        top.put(grad_x, exact)
        return (grad_x,)

    def _backward_rows(self, grad):
        # softmax·Σg is e·(Σg / (1 + r)) off the max: the e^(x − max) kept from the forward pass
        # instead of e^out (an exp costs twice a multiply); the max's entry as in backward.
        r = self.rows
        g = r.rows(grad)
        total = row_sum(g)
        grad_x = self.e * (total / r.norm)[:, None]
        np.subtract(g, grad_x, out=grad_x)
        g_top = g.reshape(-1)[r.flat_top]
        grad_x.reshape(-1)[r.flat_top] = (g_top - total) + (r.rest / (r.rest + 1)) * total
        return _shaped(grad_x, self.out.shape)

    def backward_graph(self, grad):
        """The gradient as a tensor in the graph (for second derivatives), exact at each
        slice's maximum as in backward: there 1 − p is the sum of the other p's."""
        (x,) = self.parents
        top = _top_mask(x.array, self.axis)
        p = LogSoftmax.apply(x, axis=self.axis).exp()
        total = grad.sum(axis=self.axis, keepdims=True)
        others_p = where(top, 0, p).sum(axis=self.axis, keepdims=True)
        return (where(top, (grad - total) + others_p * total, grad - p * total),)


def _top_mask(x: np.ndarray, axis: int) -> np.ndarray:
    """True at the first maximum of each slice along ``axis`` (the entry :class:`_Top` picks)."""
    top = np.zeros(x.shape, dtype=bool)
    np.put_along_axis(top, x.argmax(axis=axis, keepdims=True), True, axis=axis)
    return top


def _softmax_axis(x: Tensor, axis, dim, op: str) -> int:
    if dim is not None:  # PyTorch's name wins over the default axis=-1
        axis = dim
    if axis is None:
        raise ShapeError(f"{op} needs one integer axis, got None")
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{op}(): dim must be an int, got {axis!r:.60}")  # as PyTorch's
    axes = normalize_axis(axis, None, x.array.ndim, op)
    return axes[0]


def _along_axis(op_class, x, axis, dim, op: str) -> Tensor:
    x = _float_operand(x, op)
    axis = _softmax_axis(x, axis, dim, op)
    if x.array.ndim == 0:  # a single number: treat it as a vector of length 1
        from chainrule.ops.shape import reshape

        return reshape(op_class.apply(reshape(x, 1), axis=0), ())
    if not x.array.size:  # an empty tensor: an empty answer, as PyTorch (no maximum to find)
        return x * 0.0
    return op_class.apply(x, axis=axis)


def softmax(x, axis: int = -1, dtype=None, *, dim: int | None = None) -> Tensor:
    """Softmax e^x / Σ e^x along one axis; every slice along it sums to 1.

    Args:
        x: input tensor or array (floating point).
        axis: the axis to normalise over (NumPy's name).
        dim: the same, under PyTorch's name; overrides ``axis``.
        dtype: convert the input to this dtype first, as PyTorch's ``dtype=``.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.softmax(cr.tensor([0.0, 0.0])).tolist()
        [0.5, 0.5]
    """
    return _along_axis(Softmax, _as_dtype(x, dtype), axis, dim, "softmax")


def log_softmax(x, axis: int = -1, dtype=None, *, dim: int | None = None) -> Tensor:
    """Log-softmax x − ln Σ e^x along one axis, stable for any finite logits.

    Args:
        x: input tensor or array (floating point).
        axis: the axis to normalise over (NumPy's name).
        dim: the same, under PyTorch's name; overrides ``axis``.
        dtype: convert the input to this dtype first, as PyTorch's ``dtype=``.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> [round(v, 4) for v in cr.functional.log_softmax(cr.tensor([0.0, 0.0])).tolist()]
        [-0.6931, -0.6931]
    """
    return _along_axis(LogSoftmax, _as_dtype(x, dtype), axis, dim, "log_softmax")


def _as_dtype(x, dtype):
    """``x`` converted to ``dtype`` (in the graph) for ``softmax(..., dtype=)``, as PyTorch."""
    if dtype is None:
        return x
    from chainrule import _dtype
    from chainrule.ops._util import operand
    from chainrule.ops.elementwise import cast

    x, dtype = operand(x), _dtype.resolve_dtype(dtype)
    return x if x.array.dtype == dtype else cast(x, dtype)


def _softmax_dim(dim, x, name: str) -> int:
    """``dim``, or for None PyTorch's implicit (deprecated) choice, with its warning (here, not in
    ``nn``, so the ops that need it import nothing above them)."""
    if dim is not None:
        return dim
    ndim = len(getattr(x, "shape", np.shape(x)))
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. Change the call to "
        f"include dim=X as an argument.",
        UserWarning,
        stacklevel=3,
    )
    return 0 if ndim in (0, 1, 3) else 1
