"""Cross-entropy from logits: class-index targets (fused with softmax, a fast row-wise path for
plain indices) and class-probability targets; the target checks shared with ``nll_loss``."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ArgumentError, DataError, DTypeError, ShapeError
from chainrule.ops.activation import _softmax_parts, softmax
from chainrule.ops.elementwise import where
from chainrule.ops.loss_common import (
    _check_reduction,
    _float_input,
    _float_target,
    _graph_scale,
    _promoted,
    _reduce_array,
    _spread,
    _weight_array,
    legacy_reduction,
)
from chainrule.ops.matmul import row_sum
from chainrule.ops.softmax import _top_mask, log_softmax
from chainrule.tensor import Tensor


# ---- cross-entropy from logits ----------------------------------------------------------------
class _CrossEntropyBase(Function):
    """ℓ = −Σ_c q_c·ln softmax(z)_c along the class axis, q the (weighted, smoothed) target.

    Local derivative: ∂ℓ/∂z = (Σ_c q_c)·softmax(z) − q, which is softmax(z) − onehot(y) for a
    plain class index.
    """

    label = "cross_entropy"
    index_targets = False  # q from class indices (True) or given probabilities

    def _forward(self, z, q, axis, reduction, count):
        self.q, self.axis, self.reduction, self.count = q, axis, reduction, count
        if not z.shape[axis]:  # no classes: each position's sum over them is 0 (PyTorch's -0.0)
            self.p, self.top = np.zeros_like(z), None
            per = -np.sum(q * z, axis=axis)
            self.shape = per.shape
            return _reduce_array(per, reduction, count)
        shifted, e, top, rest, log_total = _softmax_parts(z, axis)
        log_p = shifted - log_total
        self.p, self.top, self.rest, self.log_p = e / (1 + rest), top, rest, log_p
        if self.index_targets:  # a class no target picks adds 0, also at a −∞ logit (0·−∞ is
            with np.errstate(invalid="ignore"):  # NaN); PyTorch's nll_loss picks the target's
                terms = q * log_p  # entry alone
            terms[q == 0] = 0
        else:
            terms = q * log_p
        per = 0.0 - np.sum(terms, axis=axis)  # not −sum: an ignored target's loss is +0
        self.shape = per.shape
        return _reduce_array(per, reduction, count)

    def _grad_logits(self, g):
        q, axis, top = self.q, self.axis, self.top
        g = np.expand_dims(g, axis)
        if top is None:  # no classes: nothing to send back (an empty gradient)
            return g * self.p
        total = np.sum(q, axis=axis, keepdims=True)
        local = total * self.p - q
        # At the largest logit: S·p − q = −S·(1 − p) + (S − q), with 1 − p = r/(1 + r) exact,
        # so a confident, correct prediction keeps its tiny gradient instead of rounding to 0.
        q_top = top.take(q)
        exact = (total - q_top) - total * (self.rest / (1 + self.rest))
        top.put(local, exact)
        return g * local

    def _graph_logits(self, grad, q):
        """``_grad_logits`` on tensors, for second derivatives: the gradient for the logits and
        the upstream gradient of each element (the target ``q`` is a tensor)."""
        axis, reduction, count = self.axis, self.reduction, self.count
        if reduction == "mean" and not count:  # see _spread: nothing took part
            g = grad * 0
        else:
            g = _graph_scale(grad, reduction, count)
        if reduction == "none":
            g = g.unsqueeze(axis)
        (z,) = self.parents[:1]
        top = _top_mask(z.array, axis)
        p = softmax(z, axis=axis)
        total = q.sum(axis=axis, keepdims=True)
        others_p = where(top, 0, p).sum(axis=axis, keepdims=True)  # 1 − p at the max, exact
        return g * where(top, (total - q) - total * others_p, total * p - q), g


class CrossEntropy(_CrossEntropyBase):
    """Cross-entropy from logits with class-index targets (weights, ignore_index, smoothing)."""

    formulas = ("(Σq)·softmax(z) − q  (softmax(z) − onehot(y))",)
    labels = None
    index_targets = True

    def explained_formulas(self) -> tuple:
        """The formula an explanation prints for this call: class indices alone (labels set:
        q is one-hot, Σq = 1) or with weights, smoothing or ignored targets (q spelled out)."""
        if self.labels is not None:
            return ("softmax(z) − onehot(y)",)
        return ("w_y·(softmax(z) − (1 − ε)·onehot(y) − ε/C)",)  # q written out

    @property
    def count_symbol(self) -> str:
        """What a mean divides by: the samples, or with weights (an ignored target weighs 0)
        the sum of the targets' weights."""
        return "n" if self.labels is not None else "Σw_y"

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
            return (self._graph_logits(grad, Tensor._make(self.q, False))[0],)
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
    # arrays: one fancy index each, a quarter of the cost of indexing with two arrays. Each NumPy
    # call costs a microsecond or more on 128 × 10 logits, so the forward keeps only what the loss
    # needs (e^(z − max) with the max's entry zeroed, and r), and the backward builds
    # g·(softmax(z) − onehot(y)) from them in one product and two scatters.
    def _forward_labels(self, z, labels, reduction):
        n, n_classes = z.shape
        if not z.flags.c_contiguous:  # (a transposed z: the flat indices need C order)
            z = np.ascontiguousarray(z)
        top = z.argmax(axis=1)  # the methods: np.argmax and np.sum add a wrapper call
        offsets = _row_offsets(n, n_classes)
        flat_top, flat_y = offsets + top, offsets + labels
        shifted = z - z.reshape(-1)[flat_top][:, None]
        flat = shifted.reshape(-1)  # a view: the writes below land in shifted (then e)
        picked = flat[flat_y]  # z_y − max ≤ 0
        e = np.exp(shifted, out=shifted)
        flat[flat_top] = 0  # (e^0 = 1 exactly: left out of r, restored in the backward)
        rest = row_sum(e)  # r = Σ e^(z − max) over all but the max
        per = np.log1p(rest)
        per -= picked  # ln(1 + r) − (z_y − max): two non-negative terms, no cancellation
        self.e, self.rest, self.top = e, rest, top
        self.flat_top, self.flat_y = flat_top, flat_y
        self.labels, self.reduction, self.count = labels, reduction, n
        return _reduce_array(per, reduction, n)

    def _backward_labels(self, grad):
        if self.reduction == "none":
            scale = grad
        elif self.reduction == "mean" and self.count != 1:
            scale = grad[()] / self.count  # scalar ÷ int: float32, a tenth of 0-d ÷ float32
        else:
            scale = grad[()]
        # softmax(z)·g is e·g/(1 + r) with the max's entry (zeroed in e) written below
        scale_rows = scale / (self.rest + 1)
        grad_z = self.e * scale_rows[:, None]
        flat = grad_z.reshape(-1)  # a view: the writes below land in grad_z (C-ordered)
        flat[self.flat_y] -= scale  # p_y − 1 (where y is the max, overwritten next)
        # At the largest logit p is 1/(1 + r), and for a correct prediction p − 1 is −r/(1 + r)
        # exactly: a confident, correct prediction keeps its tiny gradient instead of rounding
        # p − 1 to 0.
        off = self.labels != self.top
        flat[self.flat_top] = off * scale - self.rest * scale_rows
        return grad_z


_OFFSETS: dict = {}  # read-only row offsets 0, C, 2C, ... by (rows, classes)


def _row_offsets(n: int, n_classes: int) -> np.ndarray:
    key = (n, n_classes)
    offsets = _OFFSETS.get(key)
    if offsets is None:
        if len(_OFFSETS) >= 64:  # batch shapes seen in one process are few; bound it anyway
            _OFFSETS.clear()
        offsets = np.arange(0, n * n_classes, n_classes)
        offsets.flags.writeable = False
        _OFFSETS[key] = offsets
    return offsets


class CrossEntropyProbs(_CrossEntropyBase):
    """Cross-entropy from logits with class-probability targets.

    q = w·((1 − ε)·t + ε/C); ∂ℓ/∂t = −(1 − ε)·w·ln softmax(z).
    """

    formulas = ("(Σq)·softmax(z) − q", "−(1 − ε)·w·ln softmax(z)")

    def forward(self, z, t, weight, smoothing, axis, reduction, count):
        n_classes = z.shape[axis]
        q = t if smoothing == 0 or not n_classes else (1 - smoothing) * t + smoothing / n_classes
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

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        z, t = self.parents
        smoothing, weight = self.smoothing, self.weight
        q = t if smoothing == 0 else (1 - smoothing) * t + smoothing / z.shape[self.axis]
        if weight is not None:
            q = q * Tensor._make(weight, False)
        grad_z, g = self._graph_logits(grad, q)
        local = -(1 - smoothing) * log_softmax(z, axis=self.axis)
        if weight is not None:
            local = local * Tensor._make(weight, False)
        return grad_z, g * local


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
    if bad.any() and not n_classes:
        raise DataError(
            f"{loss} got class-index targets for an input of shape {input.shape}, which has 0 "
            f"classes (axis {axis}): no class index is valid; give the input at least one class "
            f"(or set every target to ignore_index={ignore_index})"
        )
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
    if smoothing and n_classes:
        spread = np.expand_dims(keep, axis).astype(dtype)
        q = dtype.type(1 - smoothing) * q + dtype.type(smoothing / n_classes) * spread
    if w is not None:
        q = q * w
        picked = weight[safe] if n_classes else np.zeros(safe.shape, dtype)  # (all ignored)
        denominator = float(np.sum(np.where(keep, picked, 0), dtype=np.float64))
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


def _probabilities_are_floats(target, input, axis: int) -> None:
    """Integer targets of the input's shape are refused, as PyTorch refuses them: they are most
    often class indices that ``fit`` or ``explain`` gave a model with ONE output the shape
    (N, 1), and a softmax over one class makes the loss 0 whatever the model does."""
    labels = target.array if isinstance(target, Tensor) else np.asarray(target)
    if labels.dtype.kind not in "iub":
        return
    shape, classes = tuple(input.array.shape), input.array.shape[axis]
    hint = (
        f"; the input has 1 class (a model with one output), over which the softmax is 1 and "
        f"the loss 0 whatever the model does: give the model one output per class (class "
        f"indices of shape {shape[:axis] + shape[axis + 1:]}), or use BCEWithLogitsLoss for "
        f"one output and 0/1 labels"
        if classes == 1
        else f"; class indices have shape {shape[:axis] + shape[axis + 1:]}, one-hot or soft "
        f"labels must be floats (target.astype('float32'))"
    )
    raise DTypeError(
        f"cross_entropy got an integer target ({labels.dtype}) of the input's shape {shape}, "
        f"which it would read as class probabilities; PyTorch refuses it too{hint}"
    )


def _probability_targets(input, target, weight, ignore_index, reduction, smoothing, axis):
    """:func:`cross_entropy` against class probabilities (a target of the input's shape)."""
    name = "cross_entropy"
    if ignore_index >= 0:  # no class index to compare it with: PyTorch refuses it too
        raise ArgumentError(
            f"{name}: ignore_index={ignore_index} applies to class-index targets, not to "
            f"class probabilities (a target of the input's shape); leave it at -100"
        )
    _probabilities_are_floats(target, input, axis)
    input = _promoted(input, target)
    target = _float_target(target, input, name)
    count = input.array.size // max(input.array.shape[axis], 1)
    w = (
        None
        if weight is None
        else weight.reshape([-1 if i == axis else 1 for i in range(input.array.ndim)])
    )
    return CrossEntropyProbs.apply(
        input, target, weight=w, smoothing=smoothing, axis=axis, reduction=reduction, count=count
    )


def cross_entropy(
    input,
    target,
    weight=None,
    size_average=None,
    ignore_index: int = -100,
    reduce=None,
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
    reduction = legacy_reduction(name, size_average, reduce, reduction)
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
        return _probability_targets(input, target, weight, ignore_index, reduction,
                                    label_smoothing, axis)  # fmt: skip
    if weight is None and not label_smoothing and input.array.ndim == 2:
        labels = target.array if isinstance(target, Tensor) else np.asarray(target)
        if plain_class_indices(input.array, labels, ignore_index):
            return CrossEntropy.apply(input, axis=1, reduction=reduction, labels=labels)
    labels = _index_targets(target, input, axis, ignore_index, name)
    q, denominator = _index_coefficients(labels, input, axis, weight, ignore_index, label_smoothing)
    loss = CrossEntropy.apply(input, q=q, axis=axis, reduction=reduction, count=denominator)
    if label_smoothing and not n_classes:
        # ε/C with no classes: PyTorch's ε/0·0 is NaN at every position, and in every reduction
        return loss + dtype.type(np.nan)
    return loss
