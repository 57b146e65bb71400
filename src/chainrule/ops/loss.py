"""Losses. The two that start from logits are fused primitives (one stable op, one clean
derivative); the rest are composites of other ops, except binary_cross_entropy, whose clamped
logarithms need PyTorch's guarded derivative to stay finite at probabilities of exactly 0 or 1.

Every loss follows PyTorch's semantics, including the weighted mean of ``cross_entropy``.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DataError, DTypeError, ShapeError
from chainrule.ops._util import MINUS_ONE, ONE
from chainrule.ops.activation import _sigmoid_parts, _softmax_parts, sigmoid, softmax
from chainrule.ops.loss_common import (
    _check_reduction,
    _float_input,
    _float_target,
    _reduce_array,
    _same_shape,
    _spread,
    _upstream,
    _weight_array,
)
from chainrule.ops.loss_regression import (  # noqa: F401 - re-exported: the loss family
    huber_loss,
    l1_loss,
    mse_loss,
)
from chainrule.ops.matmul import row_sum
from chainrule.tensor import Tensor


# ---- binary cross-entropy from logits ---------------------------------------------------------
def _graph_scale(grad: Tensor, reduction: str, count: int) -> Tensor:
    """The upstream gradient spread over the elements a reduction averaged or summed."""
    return grad / count if reduction == "mean" and count != 1 else grad


class BinaryCrossEntropyWithLogits(Function):
    """ℓ = w·[(1 − t)·z + (1 + (p − 1)·t)·ln(1 + e^(−z))], p the positive-class weight
    (p = 1: ℓ = w·[ln(1 + e^z) − t·z]).

    Local derivatives: ∂ℓ/∂z = w·[(1 − t)·σ(z) − p·t·σ(−z)] (σ(z) − t when w = p = 1) and
    ∂ℓ/∂t = w·[(p − 1)·ln(1 + e^(−z)) − z].
    """

    label = "bce_with_logits"
    formulas = ("w·((1 − t)·σ(z) − p·t·σ(−z))", "w·((p − 1)·softplus(−z) − z)")

    def forward(self, z, t, weight=None, pos_weight=None, reduction="mean"):
        self.z, self.t, self.weight, self.pos_weight = z, t, weight, pos_weight
        self.reduction = reduction
        if weight is None and pos_weight is None and z.ndim:  # (0-d ufunc results are scalars)
            return self._forward_plain(z, t, reduction)
        sig, e = _sigmoid_parts(z)
        self.sig, self.sig_neg = sig, np.where(z >= 0, e * (1 / (1 + e)), 1 / (1 + e))
        log1p_e = np.log1p(e)
        softplus_neg = np.maximum(-z, 0) + log1p_e  # ln(1 + e^(−z)), stable
        # (1 − t)·z + L·ln(1 + e^(−z)), L = 1 + (p − 1)·t, regrouped into terms that are
        # non-negative for t in [0, 1]: no cancellation, so tiny losses keep their digits.
        if pos_weight is None:
            per = np.where(z >= 0, (1 - t) * z, -(t * z)) + log1p_e
        else:
            linear = np.where(z >= 0, (1 - t) * z, -((pos_weight * t) * z))
            per = linear + (1 + (pos_weight - 1) * t) * log1p_e
        if weight is not None:
            per = per * weight
        self.softplus_neg, self.plain = softplus_neg, False
        self.shape = per.shape
        return _reduce_array(per, reduction, per.size)

    def _forward_plain(self, z, t, reduction):
        """The common call (no weights): the same loss in fewer NumPy calls.

        Every result is fresh rather than written in place: NumPy 2.4 takes three times as long
        for an in-place ufunc on a one-element array (the seed network's logit), and the arrays
        of a loss are small. "Positive" means sign bit clear, so that −0.0 counts as negative
        here and in ``np.copysign`` in the backward pass alike.
        """
        pos = np.logical_not(np.signbit(z))
        e = np.exp(np.copysign(z, MINUS_ONE))  # e^(−|z|) ≤ 1: no overflow
        c = np.subtract(pos, t)  # 1 − t where z ≥ 0, −t elsewhere (exact for t in [0, 1])
        per = np.add(np.multiply(c, z), np.log1p(e))  # (1 − t)·z or −t·z, both non-negative
        self.e, self.c, self.plain = e, c, True
        self.shape = per.shape
        return _reduce_array(per, reduction, per.size)

    def _backward_plain(self, grad):
        # σ(z) − t written as (1 − t) − σ(−|z|) for z ≥ 0 and σ(−|z|) − t for z < 0, that is
        # c − copysign(σ(−|z|), z): each form keeps the digits of a tiny gradient (t = 1 at
        # large z, t = 0 at very negative z).
        count = self.z.size
        if self.reduction == "mean" and count != 1:
            grad = grad[()] / count  # scalar ÷ int: float32 arithmetic, a tenth of 0-d ÷ float32
        grad_z = grad_t = None
        if self.needs_grad[0]:
            e = self.e
            small = np.divide(e, np.add(e, ONE))  # σ(−|z|)
            grad_z = np.multiply(np.subtract(self.c, np.copysign(small, self.z)), grad)
        if self.needs_grad[1]:
            grad_t = np.multiply(self.z, -grad)
        return grad_z, grad_t

    def backward(self, grad):
        if self.plain:
            return self._backward_plain(grad)
        g = _spread(grad, self.shape, self.reduction, self.z.size)
        if self.weight is not None:
            g = g * self.weight
        t, pw = self.t, self.pos_weight
        grad_z = grad_t = None
        if self.needs_grad[0]:
            positive = t * self.sig_neg if pw is None else (pw * t) * self.sig_neg
            grad_z = g * ((1 - t) * self.sig - positive)
        if self.needs_grad[1]:
            local = -self.z if pw is None else (pw - 1) * self.softplus_neg - self.z
            grad_t = g * local
        return grad_z, grad_t

    def backward_graph(self, grad):
        """(σ(z) − t)·g and −z·g as tensors (second derivatives; no weights)."""
        if self.weight is not None or self.pos_weight is not None:
            return super().backward_graph(grad)
        z, t = self.parents
        scale = _graph_scale(grad, self.reduction, self.z.size)
        return (sigmoid(z) - t) * scale, -z * scale


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
) -> Tensor:
    """Binary cross-entropy of logits, fused with the sigmoid: stable for any logit.

    Args:
        input: logits (any real numbers).
        target: targets in [0, 1] of the same shape (tensor or array, integer labels allowed).
        weight: optional per-element weight, broadcast to the input's shape.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        pos_weight: optional weight of the positive term, per class (broadcast along the last
            axis), to rebalance rare positives.

    Shape:
        input and target: the same shape, e.g. (N,) or (N, C); output: scalar, or that shape for
        ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> loss = cr.functional.binary_cross_entropy_with_logits(cr.tensor([0.0]), [1.0])
        >>> round(loss.item(), 4)
        0.6931
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(reduction, name)
    input = _float_input(input, name)
    target = _float_target(target, input, name)
    _same_shape(input, target, name)
    dtype = input.array.dtype
    weight = _weight_array(weight, dtype, name)
    pos_weight = _weight_array(pos_weight, dtype, name, "pos_weight")
    for array, what in ((weight, "weight"), (pos_weight, "pos_weight")):
        if array is not None:
            try:
                if np.broadcast_shapes(array.shape, input.shape) != input.shape:
                    raise ValueError
            except ValueError:
                raise ShapeError(
                    f"{name} got {what} of shape {array.shape}, which does not broadcast to the "
                    f"input's shape {input.shape}"
                ) from None
    return BinaryCrossEntropyWithLogits.apply(
        input, target, weight=weight, pos_weight=pos_weight, reduction=reduction
    )


# ---- cross-entropy from logits ----------------------------------------------------------------
class _CrossEntropyBase(Function):
    """ℓ = −Σ_c q_c·ln softmax(z)_c along the class axis, q the (weighted, smoothed) target.

    Local derivative: ∂ℓ/∂z = (Σ_c q_c)·softmax(z) − q, which is softmax(z) − onehot(y) for a
    plain class index.
    """

    label = "cross_entropy"

    def _forward(self, z, q, axis, reduction, count):
        shifted, e, top, rest, log_total = _softmax_parts(z, axis)
        log_p = shifted - log_total
        self.q, self.axis, self.reduction, self.count = q, axis, reduction, count
        self.p, self.top, self.rest, self.log_p = e / (1 + rest), top, rest, log_p
        per = -np.sum(q * log_p, axis=axis)
        self.shape = per.shape
        return _reduce_array(per, reduction, count)

    def _grad_logits(self, g):
        q, axis, top = self.q, self.axis, self.top
        g = np.expand_dims(g, axis)
        total = np.sum(q, axis=axis, keepdims=True)
        local = total * self.p - q
        # At the largest logit: S·p − q = −S·(1 − p) + (S − q), with 1 − p = r/(1 + r) exact,
        # so a confident, correct prediction keeps its tiny gradient instead of rounding to 0.
        q_top = top.take(q)
        exact = (total - q_top) - total * (self.rest / (1 + self.rest))
        top.put(local, exact)
        return g * local


class CrossEntropy(_CrossEntropyBase):
    """Cross-entropy from logits with class-index targets (weights, ignore_index, smoothing)."""

    formulas = ("(Σq)·softmax(z) − q  (softmax(z) − onehot(y))",)
    labels = None

    def forward(self, z, q=None, axis=1, reduction="mean", count=None, labels=None):
        if labels is not None:
            return self._forward_labels(z, labels, reduction)
        return self._forward(z, q, axis, reduction, count)

    def backward(self, grad):
        if self.labels is not None:
            return (self._backward_labels(grad),)
        g = _spread(grad, self.shape, self.reduction, self.count)
        return (self._grad_logits(g),)

    def backward_graph(self, grad):
        """(softmax(z) − onehot(y))·g as a tensor (second derivatives; class indices only)."""
        if self.labels is None:
            return super().backward_graph(grad)
        (z,) = self.parents[:1]
        onehot = np.zeros(z.array.shape, z.array.dtype)
        onehot[np.arange(len(self.labels)), self.labels] = 1
        scale = _graph_scale(grad, self.reduction, self.count)
        if self.reduction == "none":
            scale = scale.reshape(-1, 1)
        return ((softmax(z, axis=1) - Tensor._make(onehot, False)) * scale,)

    # The common call, logits (N, C) and N valid class indices with no weight or smoothing, skips
    # the dense one-hot q: the same numbers from a few row-wise steps (to the last bit or two:
    # the row sums here run in BLAS).
    #
    # Entries (n, top_n) and (n, y_n) are read and written through flat indices into C-ordered
    # arrays: one fancy index each, a quarter of the cost of indexing with two arrays.
    def _forward_labels(self, z, labels, reduction):
        n, n_classes = z.shape
        top = z.argmax(axis=1)  # the methods: np.argmax and np.sum add a wrapper call
        offsets = np.arange(0, n * n_classes, n_classes)
        flat_top, flat_y = offsets + top, offsets + labels
        shifted = z - z.reshape(-1)[flat_top][:, None]
        if not shifted.flags.c_contiguous:  # (a transposed z gives a transposed result)
            shifted = np.ascontiguousarray(shifted)
        flat = shifted.reshape(-1)  # a view: the writes below land in shifted (then e)
        picked = flat[flat_y]  # z_y − max ≤ 0
        e = np.exp(shifted, out=shifted)
        flat[flat_top] = 0
        rest = row_sum(e)  # r = Σ e^(z − max) over all but the max
        per = np.log1p(rest)
        per -= picked  # ln(1 + r) − (z_y − max): two non-negative terms, no cancellation
        denom = rest + 1
        e /= denom[:, None]
        flat[flat_top] = 1 / denom  # softmax(z)
        self.p, self.rest, self.denom, self.top = e, rest, denom, top
        self.flat_top, self.flat_y = flat_top, flat_y
        self.labels, self.reduction, self.count = labels, reduction, n
        return _reduce_array(per, reduction, n)

    def _backward_labels(self, grad):
        labels, top = self.labels, self.top
        if self.reduction == "none":
            scale, scale_rows = grad[:, None], grad
        else:
            if self.reduction == "mean" and self.count != 1:
                grad = grad[()] / self.count  # scalar ÷ int: float32, a tenth of 0-d ÷ float32
            scale = scale_rows = grad
        grad_z = self.p * scale
        if not grad_z.flags.c_contiguous:  # (an upstream gradient of an odd layout)
            grad_z = np.ascontiguousarray(grad_z)
        flat = grad_z.reshape(-1)  # a view: the writes below land in grad_z
        flat[self.flat_y] = (self.p.reshape(-1)[self.flat_y] - 1) * scale_rows
        # At the largest logit 1 − p is r/(1 + r) exactly, so a confident, correct prediction
        # keeps its tiny gradient −r/(1 + r) instead of rounding p − 1 to 0.
        off = (labels != top).astype(grad_z.dtype)
        flat[self.flat_top] = (off - self.rest / self.denom) * scale_rows
        return grad_z


class CrossEntropyProbs(_CrossEntropyBase):
    """Cross-entropy from logits with class-probability targets.

    q = w·((1 − ε)·t + ε/C); ∂ℓ/∂t = −(1 − ε)·w·ln softmax(z).
    """

    formulas = ("(Σq)·softmax(z) − q", "−(1 − ε)·w·ln softmax(z)")

    def forward(self, z, t, weight, smoothing, axis, reduction, count):
        n_classes = z.shape[axis]
        q = t if smoothing == 0 else (1 - smoothing) * t + smoothing / n_classes
        if weight is not None:
            q = q * weight
        self.weight, self.smoothing = weight, smoothing
        return self._forward(z, q, axis, reduction, count)

    def backward(self, grad):
        g = _spread(grad, self.shape, self.reduction, self.count)
        grad_z = self._grad_logits(g) if self.needs_grad[0] else None
        grad_t = None
        if self.needs_grad[1]:
            local = -(1 - self.smoothing) * self.log_p
            if self.weight is not None:
                local = local * self.weight
            grad_t = np.expand_dims(g, self.axis) * local
        return grad_z, grad_t


def _class_axis(input: Tensor, loss: str) -> int:
    if input.array.ndim == 0:
        raise ShapeError(f"{loss} needs input of shape (C,), (N, C) or (N, C, d...), got ()")
    return 0 if input.array.ndim == 1 else 1


def _index_targets(target, input: Tensor, axis: int, ignore_index: int, loss: str) -> np.ndarray:
    """Validate class-index targets; return them as an int64 array."""
    array = target.array if isinstance(target, Tensor) else np.asarray(target)
    expected = input.array.shape[:axis] + input.array.shape[axis + 1 :]
    if array.dtype.kind not in "iu":
        raise DTypeError(
            f"{loss} class-index targets must be integers, got dtype {array.dtype} (shape "
            f"{array.shape}); pass labels as int64 (y.astype('int64'))"
            + (
                f", or class probabilities of the input's shape {input.shape}"
                if loss == "cross_entropy"
                else ""
            )
        )
    if array.shape != expected:
        raise ShapeError(
            f"{loss} got input of shape {input.shape} and target of shape {array.shape}; "
            f"class-index targets must have shape {expected} (the input without its class "
            f"axis {axis}), probability targets shape {input.shape}"
        )
    n_classes = input.array.shape[axis]
    valid = array != ignore_index
    bad = valid & ((array < 0) | (array >= n_classes))
    if bad.any():
        raise DataError(
            f"{loss} got target class {array[bad].flat[0]} for an input with {n_classes} "
            f"classes; targets must lie in [0, {n_classes - 1}] (or equal ignore_index="
            f"{ignore_index})"
        )
    return array.astype(np.int64, copy=False)


def _index_coefficients(labels, input, axis, weight, ignore_index, smoothing):
    """q for class indices, and the mean's denominator Σ w[y] over targets not ignored."""
    dtype = input.array.dtype
    n_classes = input.array.shape[axis]
    keep = labels != ignore_index
    safe = np.where(keep, labels, 0)
    classes_shape = [1] * input.array.ndim
    classes_shape[axis] = n_classes
    classes = np.arange(n_classes).reshape(classes_shape)
    onehot = (np.expand_dims(safe, axis) == classes) & np.expand_dims(keep, axis)
    q = onehot.astype(dtype)
    w = None if weight is None else weight.reshape(classes_shape)
    if smoothing:
        spread = np.expand_dims(keep, axis).astype(dtype)
        q = dtype.type(1 - smoothing) * q + dtype.type(smoothing / n_classes) * spread
    if w is not None:
        q = q * w
        denominator = float(np.sum(np.where(keep, weight[safe], 0), dtype=np.float64))
    else:
        denominator = int(keep.sum())
    return q, denominator


_max_reduce = np.maximum.reduce


def plain_class_indices(z: np.ndarray, labels: np.ndarray, ignore_index: int) -> bool:
    """True when ``labels`` are N valid class indices for (N, C) logits ``z``, none of them
    ignored: the case :class:`CrossEntropy` computes without a one-hot target."""
    n, n_classes = z.shape
    if not (
        labels.dtype.kind in "iu"
        and labels.shape == (n,)
        and n
        and not 0 <= ignore_index < n_classes
    ):
        return False
    if labels.dtype == np.int64:
        # Seen as unsigned, a negative label is huge: one reduction checks both ends (the ufunc's
        # own reduce: the method's Python wrapper costs as much again).
        return bool(_max_reduce(labels.view(np.uint64), axis=None) < n_classes)
    return bool(labels.min() >= 0 and labels.max() < n_classes)


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits against class indices or class probabilities (softmax fused in).

    With class weights and ``reduction="mean"`` the sum is divided by the total weight of the
    targets that are not ignored, as in PyTorch.

    Args:
        input: logits, classes along axis 1 (axis 0 for an unbatched (C,) input).
        target: integer class indices, or float probabilities of the input's shape.
        weight: optional per-class weight of shape (C,).
        ignore_index: class-index targets equal to it contribute nothing.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        label_smoothing: ε in [0, 1]; the target becomes (1 − ε)·target + ε/C.

    Shape:
        input: (C,), (N, C) or (N, C, d1, ...); index target: (), (N,) or (N, d1, ...);
        probability target: the input's shape; output: scalar, or the target's per-position
        shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> logits = cr.tensor([[0.0, 0.0]], requires_grad=True)
        >>> loss = cr.functional.cross_entropy(logits, [1])
        >>> round(loss.item(), 4)
        0.6931
    """
    name = "cross_entropy"
    _check_reduction(reduction, name)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name} label_smoothing must be in [0, 1], got {label_smoothing}")
    input = _float_input(input, name)
    axis = _class_axis(input, name)
    dtype = input.array.dtype
    n_classes = input.array.shape[axis]
    weight = _weight_array(weight, dtype, name)
    if weight is not None and weight.shape != (n_classes,):
        raise ShapeError(
            f"{name} got weight of shape {weight.shape} for {n_classes} classes; expected "
            f"({n_classes},)"
        )
    target_shape = target.array.shape if isinstance(target, Tensor) else np.shape(target)
    if target_shape == input.array.shape:  # class probabilities
        target = _float_target(target, input, name)
        count = input.array.size // max(n_classes, 1)
        w = (
            None
            if weight is None
            else weight.reshape([-1 if i == axis else 1 for i in range(input.array.ndim)])
        )
        return CrossEntropyProbs.apply(
            input,
            target,
            weight=w,
            smoothing=label_smoothing,
            axis=axis,
            reduction=reduction,
            count=count,
        )
    if weight is None and not label_smoothing and input.array.ndim == 2:
        labels = target.array if isinstance(target, Tensor) else np.asarray(target)
        if plain_class_indices(input.array, labels, ignore_index):
            return CrossEntropy.apply(input, axis=1, reduction=reduction, labels=labels)
    labels = _index_targets(target, input, axis, ignore_index, name)
    q, denominator = _index_coefficients(labels, input, axis, weight, ignore_index, label_smoothing)
    return CrossEntropy.apply(input, q=q, axis=axis, reduction=reduction, count=denominator)


# ---- negative log-likelihood ------------------------------------------------------------------
class NLL(Function):
    """ℓ_n = −x[n, y_n] for (N, C) log-probabilities x and N plain class indices y (the common
    call; weights and ignored targets take the one-hot composite below).

    Local derivative: ∂ℓ/∂x = −onehot(y): one entry per row, so the backward pass writes N
    numbers into zeros instead of multiplying by a dense one-hot matrix.
    """

    label = "nll"
    formulas = ("−onehot(y)",)

    def forward(self, x, labels=None, reduction="mean"):
        rows = np.arange(x.shape[0])
        self.rows, self.labels, self.reduction = rows, labels, reduction
        self.x_shape, self.x_dtype = x.shape, x.dtype
        return _reduce_array(np.negative(x[rows, labels]), reduction, x.shape[0])

    def backward(self, grad):
        grad_x = np.zeros(self.x_shape, self.x_dtype)
        grad_x[self.rows, self.labels] = -_upstream(grad, self.reduction, self.x_shape[0])
        return (grad_x,)

    def backward_graph(self, grad):
        """−onehot(y)·g as a tensor (second derivatives): the one-hot is a constant."""
        onehot = np.zeros(self.x_shape, self.x_dtype)
        onehot[self.rows, self.labels] = -1
        n = self.x_shape[0]
        if self.reduction == "none":
            grad = grad.reshape(n, 1)
        elif self.reduction == "mean" and n != 1:
            grad = grad / n
        return (Tensor._make(onehot, False) * grad,)


def nll_loss(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities (e.g. log_softmax).

    Args:
        input: log-probabilities, classes along axis 1 (axis 0 for an unbatched (C,) input).
        target: integer class indices.
        weight: optional per-class weight of shape (C,).
        ignore_index: targets equal to it contribute nothing.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Shape:
        input: (C,), (N, C) or (N, C, d1, ...); target: (), (N,) or (N, d1, ...).

    Example:
        >>> import chainrule as cr
        >>> cr.functional.nll_loss(cr.tensor([[-1.0, -2.0]]), [1]).item()
        2.0
    """
    from chainrule.ops.reduce import sum as _sum

    name = "nll_loss"
    _check_reduction(reduction, name)
    input = _float_input(input, name)
    axis = _class_axis(input, name)
    if weight is None and input.array.ndim == 2:
        labels = target.array if isinstance(target, Tensor) else np.asarray(target)
        if plain_class_indices(input.array, labels, ignore_index):
            return NLL.apply(input, labels=labels, reduction=reduction)
    n_classes = input.array.shape[axis]
    weight = _weight_array(weight, input.array.dtype, name)
    if weight is not None and weight.shape != (n_classes,):
        raise ShapeError(
            f"{name} got weight of shape {weight.shape} for {n_classes} classes; expected "
            f"({n_classes},)"
        )
    labels = _index_targets(target, input, axis, ignore_index, name)
    q, denominator = _index_coefficients(labels, input, axis, weight, ignore_index, 0.0)
    per = -_sum(input * q, axis=axis)
    if reduction == "none":
        return per
    total = _sum(per)
    return total if reduction == "sum" else total / input.array.dtype.type(denominator)


class BinaryCrossEntropy(Function):
    """ℓ = −w·[t·ln p + (1 − t)·ln(1 − p)], each logarithm clamped at −100 (PyTorch's).

    Local derivatives: ∂ℓ/∂p = w·(p − t)/max(p·(1 − p), 1e-12) and
    ∂ℓ/∂t = w·(ln(1 − p) − ln p) (clamped logarithms).

    The forward pass checks that p lies in [0, 1] (so a compiled replay checks it too), and the
    same two numbers, min p and max p, tell it whether any logarithm can reach the clamp: when
    e^(−100) < p < 1 everywhere, neither can, and the clamps and the floating-point error state
    that guards log(0) (together as slow as the loss itself on one row) are skipped.
    """

    label = "bce"
    formulas = ("w·(p − t)/(p·(1 − p))", "w·(ln(1 − p) − ln p)")

    def forward(self, p, t, weight=None, reduction="mean"):
        lo, hi = (p.item(),) * 2 if p.size == 1 else (p.min(), p.max())
        if not (lo >= 0 and hi <= 1):  # NaN fails both
            raise DataError(
                f"binary_cross_entropy needs probabilities in [0, 1], got values from "
                f"{np.nanmin(p)} to {np.nanmax(p)}; apply sigmoid first, or use "
                f"binary_cross_entropy_with_logits"
            )
        if lo > _EXP_MINUS_100 and hi < 1:
            log_p, log_q = np.log(p), np.log1p(np.negative(p))
        else:
            with np.errstate(divide="ignore"):
                log_p = np.maximum(np.log(p), _LOG_CLAMP)
                log_q = np.maximum(np.log1p(np.negative(p)), _LOG_CLAMP)
        # (t − 1)·ln(1 − p) − t·ln p: the negation of t·ln p + (1 − t)·ln(1 − p), bit for bit
        per = np.subtract(np.multiply(np.subtract(t, ONE), log_q), np.multiply(t, log_p))
        if weight is not None:
            per = per * weight
        self.p, self.t, self.weight, self.reduction = p, t, weight, reduction
        self.log_p, self.log_q, self.shape = log_p, log_q, per.shape
        return _reduce_array(per, reduction, per.size)

    def backward(self, grad):
        p, t = self.p, self.t
        if self.reduction == "none":
            g = grad
        else:  # a scalar: float32 arithmetic at a fraction of a 0-d array's cost
            g = grad[()]
            if self.reduction == "mean" and p.size != 1:
                g = g / p.size
        if self.weight is not None:
            g = g * self.weight
        grad_p = grad_t = None
        if self.needs_grad[0]:
            floor = np.maximum(np.multiply(p, np.subtract(ONE, p)), p.dtype.type(1e-12))
            grad_p = np.divide(np.multiply(np.subtract(p, t), g), floor)
        if self.needs_grad[1]:
            grad_t = np.multiply(np.subtract(self.log_q, self.log_p), g)
        if not p.ndim:  # ufuncs on 0-d arrays return NumPy scalars
            grad_p = None if grad_p is None else np.asarray(grad_p)
            grad_t = None if grad_t is None else np.asarray(grad_t)
        return grad_p, grad_t


_LOG_CLAMP = np.int8(-100)  # an int8 operand keeps the array's float dtype
_EXP_MINUS_100 = float(np.exp(-100.0))  # below it, ln p would pass the clamp


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities; logarithms clamped at −100 as in PyTorch.

    Prefer :func:`binary_cross_entropy_with_logits`, which is stable where this is not.

    Args:
        input: probabilities in [0, 1].
        target: targets in [0, 1] of the same shape (tensor or array, integer labels allowed).
        weight: optional per-element weight, broadcast to the input's shape.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> loss = cr.functional.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([1.0]))
        >>> round(loss.item(), 4)
        0.6931
    """
    name = "binary_cross_entropy"
    _check_reduction(reduction, name)
    input = _float_input(input, name)
    target = _float_target(target, input, name)
    _same_shape(input, target, name)
    weight = _weight_array(weight, input.array.dtype, name)
    if weight is not None:
        shape = input.array.shape
        try:
            if np.broadcast_shapes(weight.shape, shape) != shape:
                raise ValueError
        except ValueError:
            raise ShapeError(
                f"{name} got weight of shape {weight.shape}, which does not broadcast to the "
                f"input's shape {input.shape}"
            ) from None
    return BinaryCrossEntropy.apply(input, target, weight=weight, reduction=reduction)


# Declared, as on the loss modules, so ``fit`` can tell a logit output without reading names.
binary_cross_entropy_with_logits.output = "logit"
