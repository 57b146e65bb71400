"""Vector norms: ‖x‖₂ (Frobenius), ‖x‖₁ and ‖x‖∞ over all elements or some axes, as
``torch.norm`` and ``Tensor.norm``, with PyTorch's gradients at the corners (zero vector, ties)."""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, ShapeError
from chainrule.ops._util import expand_reduced, normalize_axis, operand, opmath, sgn
from chainrule.ops.elementwise import where
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor


class _Norm(Function):
    """Shared bookkeeping: the input, the axes and the norm kept with those axes as 1s."""

    def _setup(self, x, axes, keepdims):
        self.x, self.axes, self.keepdims = x, axes, keepdims

    def _result(self, kept):
        self.kept = kept  # the norm with the reduced axes kept, for backward's broadcasting
        return kept if self.keepdims else _drop_axes(kept, self.axes)

    def _grad_kept(self, grad):
        return expand_reduced(grad, self.x.shape, self.axes, self.keepdims)


class Norm2(_Norm):
    """‖x‖₂ = √(Σ x²).  Local derivative: x / ‖x‖ (0 where the norm is 0, as in PyTorch)."""

    label = "‖·‖₂"
    formulas = ("x / ‖x‖",)

    def forward(self, x, axes, keepdims):
        self._setup(x, axes, keepdims)
        wide = opmath(x)  # float16's Σx² overflows long before its norm does
        kept = np.sqrt(np.sum(wide * wide, axis=axes, keepdims=True))
        return self._result(kept.astype(x.dtype, copy=False))

    def backward(self, grad):
        norm = self.kept
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_x = self.x * self._grad_kept(grad) / norm  # x·g first: 3·1/5 is 0.6 exactly
        return (np.where(norm == 0, 0, grad_x).astype(self.x.dtype, copy=False),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        norm = Norm2.apply(x, axes=self.axes, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            grad_x = x * grad.reshape(self.kept.shape) / norm
        return (where(self.kept == 0, 0, grad_x),)


class Norm1(_Norm):
    """‖x‖₁ = Σ |x|.  Local derivative: sign(x) (0 at 0)."""

    label = "‖·‖₁"
    formulas = ("sign(x)",)

    def forward(self, x, axes, keepdims):
        self._setup(x, axes, keepdims)
        kept = np.sum(np.abs(opmath(x)), axis=axes, keepdims=True)
        return self._result(kept.astype(x.dtype, copy=False))

    def backward(self, grad):
        return (sgn(self.x) * self._grad_kept(grad),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        grad_x = _constant(sgn(self.x)) * grad.reshape(self.kept.shape)
        return (tie(grad_x, self.parents[0], name="MulBackward0"),)


class NormInf(_Norm):
    """‖x‖∞ = max |x|.  Local derivative: sign(x) at the largest |x|, shared evenly between ties
    (and NaNs), 0 elsewhere: PyTorch's rule."""

    label = "‖·‖∞"
    formulas = ("sign(x)/k at the k largest |x|",)

    def forward(self, x, axes, keepdims):
        self._setup(x, axes, keepdims)
        return self._result(np.max(np.abs(x), axis=axes, keepdims=True, initial=0))

    def backward(self, grad):
        size = np.abs(self.x)
        hit = (size == self.kept) | np.isnan(size)
        count = np.sum(hit, axis=self.axes, keepdims=True)
        share = self._grad_kept(grad) / np.maximum(count, 1).astype(self.x.dtype)
        return (sgn(self.x) * (share * hit),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        size = np.abs(self.x)
        hit = (size == self.kept) | np.isnan(size)
        count = np.maximum(np.sum(hit, axis=self.axes, keepdims=True), 1).astype(self.x.dtype)
        share = grad.reshape(self.kept.shape) / _constant(count)
        grad_x = _constant(sgn(self.x)) * (share * _constant(hit))
        return (tie(grad_x, self.parents[0], name="MulBackward0"),)


class NormNegInf(NormInf):
    """min |x| (PyTorch's ``p=-inf``).  Local derivative: sign(x) at the smallest |x|, shared
    evenly between ties, 0 elsewhere (NormInf's rule, read at the minimum)."""

    label = "min |x|"
    formulas = ("sign(x)/k at the k smallest |x|",)

    def forward(self, x, axes, keepdims):
        self._setup(x, axes, keepdims)
        return self._result(np.min(np.abs(x), axis=axes, keepdims=True))


class NormZero(_Norm):
    """The number of nonzero entries (PyTorch's ``p=0``).  Local derivative: 0."""

    label = "#≠0"
    formulas = ("0",)

    def forward(self, x, axes, keepdims):
        self._setup(x, axes, keepdims)
        return self._result(np.sum(x != 0, axis=axes, keepdims=True).astype(x.dtype))

    def backward(self, grad):
        return (np.zeros_like(self.x),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        return (grad.reshape(self.kept.shape) * _constant(np.zeros_like(self.x)),)


class NormP(_Norm):
    """‖x‖_p = (Σ |x|^p)^(1/p) for any other p.  Local derivative: sign(x)·|x|^(p−1) / ‖x‖^(p−1)
    (PyTorch's: 0 where ‖x‖ is 0 for p > 1, and where x is 0 for p < 1)."""

    label = "‖·‖ₚ"
    formulas = ("sign(x)·|x|^(p−1) / ‖x‖^(p−1)",)

    def forward(self, x, axes, keepdims, p):
        self._setup(x, axes, keepdims)
        self.p = p
        wide = opmath(x)  # float16's Σ|x|ᵖ overflows long before its norm does
        with np.errstate(divide="ignore", over="ignore"):  # 0 ** −1 is inf, as PyTorch's
            total = np.sum(np.abs(wide) ** wide.dtype.type(p), axis=axes, keepdims=True)
            return self._result((total ** wide.dtype.type(1 / p)).astype(x.dtype, copy=False))

    def backward(self, grad):
        x, p, norm = opmath(self.x), self.p, opmath(self.kept)
        grad = opmath(self._grad_kept(grad))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p < 1:
                scaled = np.where(x == 0, 0, sgn(x) * np.abs(x) ** x.dtype.type(p - 1))
                return ((scaled * grad * norm ** x.dtype.type(1 - p)).astype(self.x.dtype),)
            scaled = sgn(x) * np.abs(x) ** x.dtype.type(p - 1)
            scale = np.where(norm == 0, 0, grad / norm ** x.dtype.type(p - 1))
        return ((scaled * scale).astype(self.x.dtype),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (x,) = self.parents
        p, grad = self.p, grad.reshape(self.kept.shape)
        norm = NormP.apply(x, axes=self.axes, keepdims=True, p=p)
        size = x.abs()
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if p < 1:
                scaled = where(self.x == 0, 0, _constant(sgn(self.x)) * size ** (p - 1))
                return (scaled * grad * norm ** (1 - p),)
            scale = where(self.kept == 0, 0, grad / norm ** (p - 1))
            return (_constant(sgn(self.x)) * size ** (p - 1) * scale,)


def _constant(array: np.ndarray) -> Tensor:
    """An array as a tensor outside the graph (a local derivative constant almost everywhere)."""
    return Tensor._make(array, False)


def _drop_axes(kept: np.ndarray, axes) -> np.ndarray:
    if axes is None:
        return kept.reshape(())
    return np.squeeze(kept, axis=axes)


_BY_P = {"fro": Norm2, 2: Norm2, 1: Norm1, math.inf: NormInf, -math.inf: NormNegInf, 0: NormZero}


def norm(x, p="fro", dim=None, keepdim: bool = False, dtype=None) -> Tensor:
    """The vector norm of ``x`` over all elements (``dim=None``) or over ``dim`` (an int or a
    tuple), as ``torch.norm``: ``p`` is ``"fro"`` or 2 (√Σx²), 1 (Σ|x|), ``inf`` (max |x|),
    ``-inf`` (min |x|), 0 (the count of nonzeros) or any other number ((Σ|x|^p)^(1/p)).

    The gradient follows PyTorch at the corners: 0 for a zero vector under the 2-norm, sign(x)
    (0 at 0) under the 1-norm, and an even share between tied largest entries under ∞.

    Example:
        >>> import chainrule as cr
        >>> cr.norm(cr.tensor([[3.0, 4.0], [0.0, 0.0]]), dim=1).tolist()
        [5.0, 0.0]
    """
    x = operand(x)
    if dtype is not None:
        x = x.to(dtype=dtype)  # a dtype name too: to("float64") reads a device
    if x.dtype.kind != "f":
        raise DTypeError(
            f"norm: needs a floating-point tensor, got {x.dtype}; convert it first, e.g. "
            f"x.float().norm()"
        )
    numeric = isinstance(p, (int, float)) and not isinstance(p, bool)
    key = p if isinstance(p, str) else float(p) if numeric else None
    op = _BY_P.get(key, NormP if numeric and not math.isnan(key) else None)
    if op is None:
        raise ValueError(
            f"norm: p={p!r} is not supported; chainrule has 'fro' and any number p (inf, -inf "
            f"and 0 included)"
        )
    axes = normalize_axis(None, dim, x.ndim, "norm", empty_is_all=True)
    if x.ndim == 0:
        axes = None
    # the max, the min and negative powers have no value over nothing (PyTorch raises too)
    no_identity = op in (NormInf, NormNegInf) or (op is NormP and key < 0)
    if no_identity and _reduces_nothing(x.shape, axes):
        raise ShapeError(
            f"norm: cannot compute the {p} norm over an empty dimension of shape {x.shape} "
            f"(the operation has no value over nothing), as in PyTorch"
        )
    if op is NormP:
        return NormP.apply(x, axes=axes, keepdims=bool(keepdim), p=key)
    return op.apply(x, axes=axes, keepdims=bool(keepdim))


def _reduces_nothing(shape: tuple, axes) -> bool:
    return any(shape[a] == 0 for a in (range(len(shape)) if axes is None else axes))


def normalize(input, p=2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:  # noqa: A002
    """``input / max(‖input‖_p, eps)`` along ``dim``, as ``torch.nn.functional.normalize``:
    each slice scaled to norm 1 (a zero slice stays 0).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.normalize(cr.tensor([[3.0, 4.0]])).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    x = operand(input)
    return x / norm(x, p, dim, keepdim=True).clamp(min=eps)


class CosineSimilarity(Function):
    """s = Σ (a/max(‖a‖, ε))·(b/max(‖b‖, ε)) along one axis.  Local derivative for a:
    (b/max(‖b‖, ε) − s·a/‖a‖) / max(‖a‖, ε), and likewise for b: PyTorch clamps the norms'
    values but differentiates the unclamped norm (whose gradient is 0 for a zero vector)."""

    label = "cos"
    formulas = ("(b̂ − s·a/‖a‖)/max(‖a‖, ε)", "(â − s·b/‖b‖)/max(‖b‖, ε)")

    def forward(self, a, b, axis, eps):
        self.a, self.b, self.axis = a, b, axis
        self.norm_a = np.sqrt(np.sum(a * a, axis=axis, keepdims=True))
        self.norm_b = np.sqrt(np.sum(b * b, axis=axis, keepdims=True))
        self.clamped_a = np.maximum(self.norm_a, a.dtype.type(eps))
        self.clamped_b = np.maximum(self.norm_b, b.dtype.type(eps))
        self.unit_a, self.unit_b = a / self.clamped_a, b / self.clamped_b
        self.out = np.sum(self.unit_a * self.unit_b, axis=axis, keepdims=True)
        return np.squeeze(self.out, axis=axis)

    def _side(self, grad, x, norm, clamped, other_unit):
        with np.errstate(divide="ignore", invalid="ignore"):
            along = np.where(norm == 0, np.zeros((), x.dtype), x / norm)  # ∂‖x‖/∂x
        return grad * (other_unit - self.out * along) / clamped

    def backward(self, grad):
        g = np.expand_dims(grad, self.axis)
        grad_a = grad_b = None
        if self.needs_grad[0]:
            grad_a = self._side(g, self.a, self.norm_a, self.clamped_a, self.unit_b)
        if self.needs_grad[1]:
            grad_b = self._side(g, self.b, self.norm_b, self.clamped_b, self.unit_a)
        return grad_a, grad_b

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives). As in PyTorch, the
        clamp to ε changes the norms' values only: their derivative stays x/‖x‖."""
        a, b = self.parents
        norm_a, norm_b = (Norm2.apply(t, axes=(self.axis,), keepdims=True) for t in (a, b))
        clamped_a = norm_a + _constant(self.clamped_a - self.norm_a)
        clamped_b = norm_b + _constant(self.clamped_b - self.norm_b)
        unit_a, unit_b = a / clamped_a, b / clamped_b
        out = (unit_a * unit_b).sum(axis=self.axis, keepdims=True)
        g = grad.reshape(self.out.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            along_a = where(self.norm_a == 0, 0, a / norm_a)
            along_b = where(self.norm_b == 0, 0, b / norm_b)
        return g * (unit_b - out * along_a) / clamped_a, g * (unit_a - out * along_b) / clamped_b


def cosine_similarity(x1, x2, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Σ (x1/max(‖x1‖, eps)) · (x2/max(‖x2‖, eps)) along ``dim``, after broadcasting the two
    to one shape, as ``torch.nn.functional.cosine_similarity`` (a zero vector gives 0, and the
    gradient is PyTorch's, which differentiates the unclamped norms).

    Example:
        >>> import chainrule as cr
        >>> a, b = cr.tensor([[1.0, 0.0]]), cr.tensor([[1.0, 1.0]])
        >>> cr.nn.functional.cosine_similarity(a, b).item()
        0.7071067690849304
    """
    from chainrule.ops._util import operands
    from chainrule.ops.shape import _one_axis, broadcast_to

    a, b = operands(x1, x2)
    if a.dtype.kind != "f":
        raise DTypeError(f"cosine_similarity: needs floating-point tensors, got {a.dtype}")
    try:
        shape = np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise ShapeError(
            f"cosine_similarity: shapes {a.shape} and {b.shape} do not broadcast together"
        ) from None
    if a.shape != shape:
        a = broadcast_to(a, shape)
    if b.shape != shape:
        b = broadcast_to(b, shape)
    axis = _one_axis(a, dim, "cosine_similarity")
    return CosineSimilarity.apply(a, b, axis=axis, eps=float(eps))


def pairwise_distance(x1, x2, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> Tensor:
    """‖x1 − x2 + eps‖_p along the last dimension, as ``torch.nn.functional.pairwise_distance``
    (the two broadcast together; ``p`` any number, ``inf``, ``-inf`` and 0 included; the
    gradient is PyTorch's norm gradient).

    Example:
        >>> import chainrule as cr
        >>> a, b = cr.tensor([[0.0, 0.0], [1.0, 1.0]]), cr.tensor([[3.0, 4.0], [1.0, 1.0]])
        >>> [round(d, 4) for d in cr.nn.functional.pairwise_distance(a, b).tolist()]
        [5.0, 0.0]
    """
    from chainrule.ops._util import operands

    a, b = operands(x1, x2)
    last = max(a.ndim, b.ndim) - 1  # PyTorch's innermost dim of the broadcast shape
    diff = a - b + eps
    if diff.dtype.kind != "f":
        diff = diff.float()
    return norm(diff, p, dim=last if last >= 0 else None, keepdim=bool(keepdim) and last >= 0)
