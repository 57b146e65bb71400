"""Losses. The two that start from logits are fused primitives (one stable op, one clean
derivative); the rest are composites of other ops, except binary_cross_entropy, whose clamped
logarithms need PyTorch's guarded derivative to stay finite at probabilities of exactly 0 or 1.

Every loss follows PyTorch's semantics, including the weighted mean of ``cross_entropy``.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DataError, ShapeError
from chainrule.ops._util import MINUS_ONE, ONE
from chainrule.ops.activation import _sigmoid_parts, sigmoid
from chainrule.ops.activation_smooth import softplus
from chainrule.ops.elementwise import maximum, where
from chainrule.ops.log1p_expm1 import log1p_unit
from chainrule.ops.loss_common import (
    _check_reduction,
    _float_input,
    _float_target,
    _graph_scale,
    _promoted,
    _reduce_array,
    _same_shape,
    _spread,
    _upstream,
    _weight_array,
    legacy_reduction,
)
from chainrule.ops.loss_regression import (  # noqa: F401 - re-exported: the loss family
    huber_loss,
    l1_loss,
    mse_loss,
)
from chainrule.tensor import Tensor


# ---- binary cross-entropy from logits ---------------------------------------------------------
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
        log1p_e = log1p_unit(e)
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
        return _nan_at_minus_inf(_reduce_array(per, reduction, per.size, True), per, z, reduction)

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
        per = np.add(np.multiply(c, z), log1p_unit(e))  # (1 − t)·z or −t·z, both non-negative
        self.e, self.c, self.plain = e, c, True
        self.shape = per.shape
        out = _reduce_array(per, reduction, per.size, wide=True)
        if reduction != "none" and _isfinite(out):  # _nan_at_minus_inf's first test, inlined
            return out
        return _nan_at_minus_inf(out, per, z, reduction)

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
        """The two local derivatives above times g, as tensors (for second derivatives); the
        weights are constants."""
        z, t = self.parents
        scale = _graph_scale(grad, self.reduction, self.z.size)
        w, p = self.weight, self.pos_weight
        if w is not None:
            scale = scale * Tensor._make(w, False)
        if p is None:
            return (sigmoid(z) - t) * scale, -z * scale
        p = Tensor._make(p, False)
        grad_z = ((1 - t) * sigmoid(z) - p * t * sigmoid(-z)) * scale
        grad_t = ((p - 1) * softplus(-z, threshold=float("inf")) - z) * scale
        return grad_z, grad_t


_isfinite = math.isfinite


def _nan_at_minus_inf(out, per: np.ndarray, z: np.ndarray, reduction: str):
    """PyTorch's loss at a logit of −∞ is NaN for every target: its formula, (1 − t)·z + m +
    ln(e^(−m) + e^(−z − m)) with m = max(−z, 0), meets ∞ − ∞ there. The regrouped terms above
    give +∞ (the limit) for t > 0; matching PyTorch's answer costs one Python check of a
    reduced loss, and only a loss that is not finite looks at the logits."""
    if reduction != "none" and math.isfinite(out):
        return out
    minus_inf = np.isneginf(z)
    if not minus_inf.any():
        return out
    per = np.where(minus_inf, per.dtype.type(np.nan), per)
    return _reduce_array(per, reduction, per.size, wide=True)


def binary_cross_entropy_with_logits(
    input,
    target,
    weight=None,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    pos_weight=None,
) -> Tensor:
    """Binary cross-entropy of logits, fused with the sigmoid: stable for any logit.

    Args:
        input: logits (any real numbers).
        target: targets in [0, 1] of the same shape (tensor or array, integer labels allowed).
        weight: optional per-element weight, broadcast to the input's shape.
        size_average, reduce: PyTorch's deprecated flags for the reduction (as there).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``; by keyword.
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
    reduction = legacy_reduction(name, size_average, reduce, reduction)
    _check_reduction(reduction, name)
    input = _float_input(input, name)
    input = _promoted(input, target)
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


# ---- cross-entropy from logits: ops/loss_cross_entropy.py (re-exported here) ---------------
# isort: split
from chainrule.ops.loss_cross_entropy import (  # noqa: E402, F401 - the loss family
    CrossEntropy,
    CrossEntropyProbs,
    _class_axis,
    _index_coefficients,
    _index_targets,
    cross_entropy,
    plain_class_indices,
)


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

    @property
    def count(self) -> int:
        """What the mean divides by, the rows N: the explainer writes the /n's n."""
        return self.x_shape[0]

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
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
    reduction: str = "mean",
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
    reduction = legacy_reduction(name, size_average, reduce, reduction)
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
    # only the targets' entries: a −∞ log-probability elsewhere (a class masked out) would
    # make 0·(−∞) = NaN, where PyTorch picks the target's entry alone
    picked = where(q != 0, input, input.array.dtype.type(0))
    per = 0.0 - _sum(picked * q, axis=axis)  # not −sum: an ignored target's loss is +0
    if reduction == "none":
        return per
    total = _sum(per)
    if reduction == "sum":
        return total
    if not denominator:
        # every target ignored: the mean is 0/0 = NaN, as PyTorch's, while every input's
        # gradient is 0 (PyTorch's too), where dividing by 0 would send back NaN
        dtype = input.array.dtype.type
        return total * dtype(0) + dtype(np.nan)
    return total / input.array.dtype.type(denominator)


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
        if p.size == 1:
            lo = hi = p.item()
        else:  # an empty batch has nothing out of range (min/max of nothing would raise)
            lo, hi = (p.min(), p.max()) if p.size else (0.5, 0.5)
        if not (lo >= 0 and hi <= 1):  # NaN fails both
            raise DataError(
                f"binary_cross_entropy needs probabilities in [0, 1], got values "
                f"{_value_range(p)}; apply sigmoid first, or use "
                f"binary_cross_entropy_with_logits"
            )
        # The targets too, as PyTorch ("all elements of target should be between 0 and 1"):
        # labels coded 1/2 or −1/1 otherwise train into a model that cannot predict.
        if t.size == 1:
            t_lo = t_hi = t.item()
        else:
            t_lo, t_hi = (t.min(), t.max()) if t.size else (0, 0)
        if not (t_lo >= 0 and t_hi <= 1):
            raise DataError(
                f"binary_cross_entropy needs targets in [0, 1], got values {_value_range(t)}; "
                f"map labels coded otherwise (1/2, -1/1, ...) to 0/1 first"
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
        return _reduce_array(per, reduction, per.size, wide=True)

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

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.math import log1p

        p, t = self.parents
        g = _graph_scale(grad, self.reduction, p.array.size)
        if self.weight is not None:
            g = g * Tensor._make(self.weight, False)
        grad_p = (p - t) * g / maximum(p * (1 - p), 1e-12)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_p = where(self.log_p > _LOG_CLAMP, p.log(), _LOG_CLAMP)
            log_q = where(self.log_q > _LOG_CLAMP, log1p(-p), _LOG_CLAMP)
        return grad_p, (log_q - log_p) * g


_LOG_CLAMP = np.int8(-100)  # an int8 operand keeps the array's float dtype
_EXP_MINUS_100 = float(np.exp(-100.0))  # below it, ln p would pass the clamp


def _value_range(a: np.ndarray) -> str:
    """``from lo to hi`` of an array's values (and whether it holds NaN), without warnings."""
    nan = np.isnan(a)
    if nan.all():
        return "that are all NaN"
    finite = a[~nan]
    text = f"from {finite.min()} to {finite.max()}"
    return text + " and NaN" if nan.any() else text


def binary_cross_entropy(
    input, target, weight=None, size_average=None, reduce=None, reduction: str = "mean"
) -> Tensor:
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
    reduction = legacy_reduction(name, size_average, reduce, reduction)
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
