"""Loss modules: ``loss_fn(input, target)`` → a scalar tensor (or per-element with
``reduction="none"``). Each calls its function in ``chainrule.functional``; the module adds
argument checks with messages that say how to fix the call. Targets may be NumPy arrays.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule import functional as F
from chainrule.errors import DTypeError, ShapeError
from chainrule.nn.module import Module
from chainrule.ops.loss import (
    NLL,
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    plain_class_indices,
)
from chainrule.ops.loss_common import _promoted
from chainrule.ops.loss_regression import L1, MSE, Huber
from chainrule.tensor import Tensor

_REDUCTIONS = ("mean", "sum", "none")


def _as_float_tensor(value, loss: str, what: str) -> Tensor:
    if isinstance(value, Tensor):
        tensor = value
    else:
        tensor = Tensor._make(np.asarray(value), False)
    if tensor.array.dtype.kind != "f":
        raise DTypeError(
            f"{loss} needs a floating-point {what}, got dtype {tensor.array.dtype}; a model's "
            f"output is float (did you swap input and target?)"
        )
    return tensor


def _plain_pair(input, target) -> bool:
    """True for the training loop's usual call: two tensors of one float dtype and one shape,
    which every check of a loss module passes (no conversion, no promotion, no broadcast)."""
    if input.__class__ is not Tensor or target.__class__ is not Tensor:
        return False
    a, t = input.array, target.array
    return a.dtype is t.dtype and a.dtype.kind == "f" and a.shape == t.shape


def _shape_hint(input_shape: tuple, target_shape: tuple) -> str:
    if input_shape[-1:] == (1,) and input_shape[:-1] == target_shape:
        return "; reshape the target to match: y.reshape(-1, 1)"
    if target_shape[-1:] == (1,) and target_shape[:-1] == input_shape:
        return "; flatten the target to match: y.reshape(-1)"
    return ""


def _matching_target(input: Tensor, target, loss: str):
    """The target as a tensor of the input's dtype and exactly the input's shape.

    Integer and bool targets (0/1 labels) are converted. A shape mismatch is an error rather
    than a broadcast: (N, 1) against (N,) would silently broadcast to (N, N).
    """
    dtype = input.array.dtype
    if isinstance(target, Tensor):
        if target.array.dtype != dtype:
            target = (
                target.astype(dtype)
                if target.array.dtype.kind == "f"
                else Tensor._make(target.array.astype(dtype), False)
            )
    else:
        array = np.asarray(target)
        if array.dtype.kind not in "fiub":
            raise DTypeError(f"{loss} got a target of dtype {array.dtype}; expected numbers")
        target = Tensor._make(array.astype(dtype, copy=False), False)
    if target.array.shape != input.array.shape:
        raise ShapeError(
            f"{loss} got input of shape {input.shape} and target of shape {target.shape}; they "
            f"must match{_shape_hint(input.shape, target.shape)}"
        )
    return target


def _weight_buffer(value, loss: str, name: str):
    if value is None:
        return None
    array = np.array(value.array if isinstance(value, Tensor) else value)
    if array.dtype.kind not in "fiub":
        raise DTypeError(f"{loss}: {name} must be numbers, got dtype {array.dtype}")
    if array.dtype.kind != "f":
        array = array.astype(np.float32)
    return Tensor._make(array, False)


def _weight_like(buffer, input: Tensor):
    if buffer is None:
        return None
    return buffer.array.astype(input.array.dtype, copy=False)


def _for_reduction(text: str | None, reduction: str, derivative: bool) -> str | None:
    """The mean-reduction text rewritten for ``reduction="sum"`` (no 1/n in front)."""
    if text is None or reduction != "sum":
        return text
    if derivative:
        return text.replace("/n", "").replace("/N", "")
    return text.replace("1/n · ", "").replace("−1/n · ", "−").replace("−1/N · ", "−")


def _fused(op, input: Tensor, target: Tensor, reduction: str) -> Tensor:
    """``op`` on an input and target the module has checked (float, one dtype, one shape): the
    functional would repeat those checks; the default mean passes no options at all."""
    if reduction == "mean":
        return op.apply(input, target)
    return op.apply(input, target, reduction=reduction)


class _Loss(Module):
    """Base of the loss modules: checks ``reduction`` and declares what the explainer, the
    report and ``fit`` read about a loss.

    Class attributes:
        output: how a model's output reads under this loss: ``"logit"`` (one column of
            logits), ``"scores"`` (one column per class), ``"value"`` (probabilities or
            regression values), or ``None`` (not declared: readers look at the model).
        targets: what the targets are: ``"values"`` (any numbers: a regression),
            ``"probabilities"`` (0/1 labels or probabilities in [0, 1]), ``"classes"``
            (class indices, or probabilities per class), or ``None``; ``fit`` reads it to
            choose its default metrics and to refuse targets the loss cannot mean (``-1``/``1``
            labels for a BCE loss).
        mean_formula, mean_derivative: the loss and its derivative with respect to the output
            ``o`` (target ``t``), written for ``reduction="mean"``; ``formula`` and
            ``derivative`` give them for this instance's reduction.
    """

    output: str | None = None
    targets: str | None = None
    mean_formula: str | None = None
    mean_derivative: str | None = None

    @property
    def formula(self) -> str | None:
        return _for_reduction(self.mean_formula, self.reduction, derivative=False)

    @property
    def derivative(self) -> str | None:
        return _for_reduction(self.mean_derivative, self.reduction, derivative=True)

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__()
        reduction = _legacy(self, size_average, reduce, reduction)
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"{type(self).__name__}: reduction must be 'mean', 'sum' or 'none', got "
                f"{reduction!r}"
            )
        self.reduction = reduction


def _legacy(module, size_average, reduce, reduction):
    """PyTorch's deprecated ``size_average``/``reduce`` turned into the reduction, as there."""
    from chainrule.ops.loss_common import legacy_reduction

    return legacy_reduction(type(module).__name__, size_average, reduce, reduction)


class MSELoss(_Loss):
    """Mean squared error: mean((input − target)²).

    Shape: input (*), target (*) the same shape → scalar (``reduction="none"``: (*)).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.MSELoss()(cr.tensor([1.0, 3.0]), [1.0, 1.0]).item()
        2.0
    """

    output = "value"
    targets = "values"
    mean_formula = "E = 1/n · Σ (o − t)²"
    mean_derivative = "2·(o − t)/n"

    def forward(self, input, target):
        input = _promoted(_as_float_tensor(input, "MSELoss", "input"), target)
        target = _matching_target(input, target, "MSELoss")
        return _fused(MSE, input, target, self.reduction)


class L1Loss(_Loss):
    """Mean absolute error: mean(|input − target|). Shape: as MSELoss."""

    output = "value"
    targets = "values"
    mean_formula = "E = 1/n · Σ |o − t|"
    mean_derivative = "sign(o − t)/n"

    def forward(self, input, target):
        input = _promoted(_as_float_tensor(input, "L1Loss", "input"), target)
        target = _matching_target(input, target, "L1Loss")
        return _fused(L1, input, target, self.reduction)


class HuberLoss(_Loss):
    """½d² where |d| ≤ delta, else delta·(|d| − ½delta), with d = input − target.

    Args:
        reduction: "mean", "sum" or "none".
        delta: where the loss turns from quadratic to linear (> 0).

    Shape: as MSELoss.
    """

    output = "value"
    targets = "values"
    mean_formula = "E = 1/n · Σ huber(o − t)"
    mean_derivative = "clip(o − t, −δ, δ)/n"

    def __init__(self, reduction: str = "mean", delta: float = 1.0):
        super().__init__(reduction=reduction)
        if (
            isinstance(delta, bool)
            or not isinstance(delta, (int, float))
            or not (math.isfinite(delta) and delta > 0)
        ):
            raise ValueError(f"HuberLoss: delta must be a positive number, got {delta!r}")
        self.delta = float(delta)

    def forward(self, input, target):
        input = _as_float_tensor(input, "HuberLoss", "input")
        target = _matching_target(input, target, "HuberLoss")
        return Huber.apply(input, target, reduction=self.reduction, delta=self.delta)


class SmoothL1Loss(HuberLoss):
    """PyTorch's smooth L1 loss: ½d²/β where |d| < β, else |d| − ½β (one op,
    ``SmoothL1LossBackward0``).

    Args:
        reduction: "mean", "sum" or "none".
        beta: where the loss turns from quadratic to linear (≥ 0; β = 0 is the L1 loss, as in
            PyTorch).
    """

    mean_formula = "E = 1/n · Σ smooth_l1(o − t)"
    mean_derivative = "clip((o − t)/β, −1, 1)/n"

    def __init__(self, size_average=None, reduce=None, reduction: str = "mean", beta: float = 1.0):
        reduction = _legacy(self, size_average, reduce, reduction)
        try:
            super().__init__(reduction, delta=beta or 1.0)
        except ValueError:
            raise ValueError(f"SmoothL1Loss: beta must be a number ≥ 0, got {beta!r}") from None
        self.beta = float(beta)

    def forward(self, input, target):
        from chainrule.ops.loss_regression import smooth_l1_loss

        input = _as_float_tensor(input, "SmoothL1Loss", "input")
        return smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class KLDivLoss(_Loss):
    """KL divergence Σ t·(ln t − input) between a target distribution and log-probabilities.

    Args:
        reduction: "batchmean" (per example: what the definition asks for), "sum", "mean"
            (over every element, PyTorch's default) or "none".
        log_target: the target holds log-probabilities.

    Shape: input and target of one shape; a scalar out, or that shape for "none".
    """

    def __init__(
        self, size_average=None, reduce=None, reduction: str = "mean", log_target: bool = False
    ):
        super().__init__()
        reduction = _legacy(self, size_average, reduce, reduction)
        if reduction not in ("mean", "batchmean", "sum", "none"):
            raise ValueError(
                f"KLDivLoss: reduction must be 'mean', 'batchmean', 'sum' or 'none', got "
                f"{reduction!r}"
            )
        self.reduction = reduction
        self.log_target = bool(log_target)

    def forward(self, input, target):
        from chainrule.ops.loss_kl import kl_div

        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class BCELoss(_Loss):
    """Binary cross-entropy on probabilities: −[y·ln p + (1 − y)·ln(1 − p)].

    Prefer :class:`BCEWithLogitsLoss` on raw scores: it is exact where p rounds to 0 or 1.

    Args:
        weight: per-element rescaling weight, broadcast against the input.
        reduction: "mean", "sum" or "none".

    Shape: input (*) probabilities in [0, 1], target (*) the same shape (0/1 integers or floats).
    """

    output = "value"
    targets = "probabilities"
    mean_formula = "E = −1/n · Σ [t·ln(o) + (1 − t)·ln(1 − o)]"
    mean_derivative = "(o − t)/(o·(1 − o))/n"

    def __init__(self, weight=None, size_average=None, reduce=None, reduction: str = "mean"):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _weight_buffer(weight, "BCELoss", "weight"))

    def forward(self, input, target):
        plain = _plain_pair(input, target) and self.reduction == "mean"
        if plain and self._buffers["weight"] is None:
            return BinaryCrossEntropy.apply(input, target)  # the checks below would pass
        input = _as_float_tensor(input, "BCELoss", "input")
        target = _matching_target(input, target, "BCELoss")
        if self._buffers["weight"] is None:
            # input and target are checked above (float, one dtype, one shape) and the op checks
            # the range itself: straight to it, without the functional's second round of checks
            if self.reduction == "mean":
                return BinaryCrossEntropy.apply(input, target)
            return BinaryCrossEntropy.apply(input, target, reduction=self.reduction)
        return F.binary_cross_entropy(
            input, target, weight=_weight_like(self.weight, input), reduction=self.reduction
        )


class BCEWithLogitsLoss(_Loss):
    """Sigmoid + binary cross-entropy in one stable step, on raw scores (logits).

    Args:
        weight: per-element rescaling weight, broadcast against the input.
        reduction: "mean", "sum" or "none".
        pos_weight: weight of the positive class per output (> 1 raises recall), shape (C,).

    Shape: input (*) logits, target (*) the same shape (0/1 integers or floats).

    Example:
        >>> import chainrule as cr
        >>> round(cr.nn.BCEWithLogitsLoss()(cr.tensor([0.0]), [1]).item(), 4)
        0.6931
    """

    output = "logit"
    targets = "probabilities"
    mean_formula = "E = −1/n · Σ [t·ln σ(o) + (1 − t)·ln(1 − σ(o))]"
    mean_derivative = "(σ(o) − t)/n"

    def __init__(
        self, weight=None, size_average=None, reduce=None, reduction: str = "mean", pos_weight=None
    ):
        super().__init__(size_average, reduce, reduction)
        self.register_buffer("weight", _weight_buffer(weight, "BCEWithLogitsLoss", "weight"))
        self.register_buffer(
            "pos_weight", _weight_buffer(pos_weight, "BCEWithLogitsLoss", "pos_weight")
        )

    def forward(self, input, target):
        if _plain_pair(input, target) and self.reduction == "mean":
            buffers = self._buffers
            if buffers["weight"] is None and buffers["pos_weight"] is None:
                return BinaryCrossEntropyWithLogits.apply(input, target)  # (as below, unchecked)
        input = _promoted(_as_float_tensor(input, "BCEWithLogitsLoss", "input"), target)
        target = _matching_target(input, target, "BCEWithLogitsLoss")
        buffers, reduction = self._buffers, self.reduction
        if buffers["weight"] is None and buffers["pos_weight"] is None and reduction in _REDUCTIONS:
            # input and target are checked above (float, one dtype, one shape): go straight to
            # the fused op, without the functional's second round of the same checks (and, for
            # the default mean, without passing options: the op's defaults are these).
            if reduction == "mean":
                return BinaryCrossEntropyWithLogits.apply(input, target)
            return BinaryCrossEntropyWithLogits.apply(
                input, target, weight=None, pos_weight=None, reduction=reduction
            )
        return F.binary_cross_entropy_with_logits(
            input,
            target,
            weight=_weight_like(self.weight, input),
            reduction=self.reduction,
            pos_weight=_weight_like(self.pos_weight, input),
        )


def _class_target(input: Tensor, target, loss: str):
    """Class indices stay integers; class probabilities take the input's dtype."""
    data = target.array if isinstance(target, Tensor) else np.asarray(target)
    if data.dtype.kind in "iu":
        return data if not isinstance(target, Tensor) else target
    if data.dtype.kind == "f" and data.ndim == input.array.ndim - 1:
        raise DTypeError(
            f"{loss} got float targets of shape {data.shape} for input of shape {input.shape}; "
            f"class indices must be integers: y.astype('int64')"
        )
    if data.dtype.kind != "f":
        raise DTypeError(f"{loss} got a target of dtype {data.dtype}; expected class indices")
    if isinstance(target, Tensor):
        return target if target.array.dtype == input.array.dtype else target.astype(input.dtype)
    return data.astype(input.array.dtype, copy=False)


class CrossEntropyLoss(_Loss):
    """Softmax + negative log-likelihood over classes, fused and stable, on raw scores.

    Args:
        weight: per-class weight, shape (C,).
        ignore_index: a target class index that contributes nothing (and is not counted).
        reduction: "mean" (weighted mean over targets), "sum" or "none".
        label_smoothing: in [0, 1]; mixes the target with the uniform distribution.

    Shape:
        input (N, C) or (N, C, d1, ...) or (C,) logits; target (N,) / (N, d1, ...) integer
        class indices, or class probabilities with the input's shape.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> loss = cr.nn.CrossEntropyLoss()(cr.zeros(2, 4), np.array([0, 3]))
        >>> round(loss.item(), 4)
        1.3863
    """

    output = "scores"
    targets = "classes"
    mean_formula = "E = −1/N · Σ_n ln softmax(o_n)[t_n]"
    mean_derivative = "(softmax(o) − onehot(t))/N"
    # the same loss with class probabilities as the target (the input's shape), not indices
    probability_formula = "E = −1/N · Σ_n Σ_c t_nc·ln softmax(o_n)_c"
    probability_derivative = "(softmax(o) − t)/N"

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ):
        super().__init__(size_average, reduce, reduction)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            raise ValueError(f"CrossEntropyLoss: ignore_index must be an int, got {ignore_index!r}")
        if (
            isinstance(label_smoothing, bool)
            or not isinstance(label_smoothing, (int, float))
            or (not 0.0 <= label_smoothing <= 1.0)
        ):
            raise ValueError(
                f"CrossEntropyLoss: label_smoothing must be in [0, 1], got {label_smoothing!r}"
            )
        self.register_buffer("weight", _weight_buffer(weight, "CrossEntropyLoss", "weight"))
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input, target):
        input = _promoted(_as_float_tensor(input, "CrossEntropyLoss", "input"), target)
        target = _class_target(input, target, "CrossEntropyLoss")
        z = input.array
        if (
            z.ndim == 2
            and self._buffers["weight"] is None
            and not self.label_smoothing
            and self.reduction in _REDUCTIONS
        ):
            # (N, C) logits and plain class indices: the functional's fast path, without its
            # second round of the checks made here.
            labels = target.array if isinstance(target, Tensor) else target
            if plain_class_indices(z, labels, self.ignore_index):
                return CrossEntropy.apply(input, axis=1, reduction=self.reduction, labels=labels)
        return F.cross_entropy(
            input,
            target,
            weight=_weight_like(self.weight, input),
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )


class NLLLoss(_Loss):
    """Negative log-likelihood: −input[n, target[n]], for log-probabilities (after LogSoftmax).

    Args:
        weight: per-class weight, shape (C,).
        ignore_index: a target class index that contributes nothing.
        reduction: "mean" (weighted mean), "sum" or "none".

    Shape: input (N, C) or (N, C, d1, ...) log-probabilities; target (N,) / (N, d1, ...) ints.
    """

    output = "scores"
    targets = "classes"
    mean_formula = "E = −1/N · Σ_n o_n[t_n]"
    mean_derivative = "−onehot(t)/N"

    def __init__(
        self,
        weight=None,
        size_average=None,
        ignore_index: int = -100,
        reduce=None,
        reduction: str = "mean",
    ):
        super().__init__(size_average, reduce, reduction)
        if isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer)):
            raise ValueError(f"NLLLoss: ignore_index must be an int, got {ignore_index!r}")
        self.register_buffer("weight", _weight_buffer(weight, "NLLLoss", "weight"))
        self.ignore_index = int(ignore_index)

    def forward(self, input, target):
        input = _as_float_tensor(input, "NLLLoss", "input")
        data = target.array if isinstance(target, Tensor) else np.asarray(target)
        if data.dtype.kind not in "iu":
            raise DTypeError(
                f"NLLLoss needs integer class indices, got dtype {data.dtype}; use "
                f"y.astype('int64')"
            )
        z = input.array
        if z.ndim == 2 and self._buffers["weight"] is None:
            # (N, C) log-probabilities and plain class indices: the fused op, without the
            # functional's second round of checks
            if plain_class_indices(z, data, self.ignore_index):
                return NLL.apply(input, labels=data, reduction=self.reduction)
        return F.nll_loss(
            input,
            target,
            weight=_weight_like(self.weight, input),
            ignore_index=self.ignore_index,
            reduction=self.reduction,
        )
