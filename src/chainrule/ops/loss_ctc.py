"""The connectionist temporal classification loss, as ``torch.nn.functional.ctc_loss``.

One op, :class:`CTC`, runs Graves et al.'s forward (alpha) recursion over time, vectorized over
the batch and the 2·S + 1 states of each blank-extended target, and its backward runs the beta
recursion and collects α·β per class. Its gradient is PyTorch's, formula for formula:
``exp(lp) − exp(log Σ_s α_t(s)β_t(s) + nll − lp)`` per time step and class, which is the true
gradient plus ``exp(lp)``. The extra term sums to 1 at each step, so through ``log_softmax``
(how log-probabilities are made) it cancels and the gradient of the logits is exact.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError, IndexOutOfRangeError, ShapeError
from chainrule.ops._util import check_int, float_operand
from chainrule.ops.loss_common import _check_reduction, mean_alias
from chainrule.tensor import Tensor


def _log_add(*terms: np.ndarray) -> np.ndarray:
    """log Σ exp(terms), as PyTorch's CTC kernel writes it: shifted by the largest term, or by 0
    where every term is −inf (the sum is then −inf, without a NaN)."""
    top = terms[0]
    for term in terms[1:]:
        top = np.maximum(top, term)
    top = np.where(top == -np.inf, 0, top)
    with np.errstate(divide="ignore"):
        return np.log(sum(np.exp(term - top) for term in terms)) + top


def _shift(a: np.ndarray, by: int) -> np.ndarray:
    """``a`` moved along its last axis (state s takes s − by), −inf where nothing moves in."""
    out = np.full_like(a, -np.inf)
    if by > 0:
        out[..., by:] = a[..., :-by]
    else:
        out[..., :by] = a[..., -by:]
    return out


class CTC(Function):
    """nll_n = −ln Σ over alignments of Π_t y_t(π_t) for log-probabilities lp (T, N, C).

    Local derivative (PyTorch's): exp(lp) − exp(ln Σ_s α·β + nll − lp) for t < input length.
    """

    label = "ctc"
    formulas = ("exp(lp) − exp(ln Σ_s αβ + nll − lp)",)

    def forward(self, lp, labels, input_lengths, target_lengths, zero_infinity=False):
        steps, batch, _ = lp.shape
        states = labels.shape[1]
        self.lp, self.labels, self.zero_infinity = lp, labels, zero_infinity
        self.input_lengths, self.target_lengths = input_lengths, target_lengths
        valid = np.arange(states) < (2 * target_lengths + 1)[:, None]
        # a label may follow the one two states back unless they are the same label (or blanks)
        skip = np.zeros((batch, states), bool)
        skip[:, 2:] = labels[:, 2:] != labels[:, :-2]
        self.valid, self.skip = valid, skip
        emit = np.take_along_axis(lp, np.broadcast_to(labels, (steps, batch, states)), axis=2)
        emit = np.where(valid, emit, -np.inf)
        self.emit = emit
        alpha = np.full((steps, batch, states), -np.inf, lp.dtype)
        if steps:
            alpha[0, :, :2] = emit[0, :, :2]
        for t in range(1, steps):
            prev = alpha[t - 1]
            skipped = np.where(skip, _shift(prev, 2), -np.inf)
            alpha[t] = _log_add(prev, _shift(prev, 1), skipped) + emit[t]
        self.alpha = alpha
        rows = np.arange(batch)
        last = alpha[np.maximum(input_lengths - 1, 0), rows]  # (N, states)
        end = 2 * target_lengths
        ends = last[rows, end]
        before = np.where(target_lengths > 0, last[rows, np.maximum(end - 1, 0)], -np.inf)
        nll = -_log_add(ends, before)
        # no time steps: an empty target has likelihood 1, any other 0 (PyTorch's rule)
        nll = np.where(input_lengths == 0, np.where(target_lengths == 0, -0.0, np.inf), nll)
        self.nll = nll.astype(lp.dtype, copy=False)
        if zero_infinity:
            return np.where(self.nll == np.inf, np.zeros((), lp.dtype), self.nll)
        return self.nll

    def _beta(self) -> np.ndarray:
        emit, skip, lengths = self.emit, self.skip, self.input_lengths
        steps, batch, states = emit.shape
        beta = np.full_like(emit, -np.inf)
        rows, end = np.arange(batch), 2 * self.target_lengths
        start = np.full((batch, states), -np.inf, emit.dtype)
        start[rows, end] = emit[lengths - 1, rows, end] if steps else 0
        has_label = self.target_lengths > 0
        before = np.maximum(end - 1, 0)
        start[rows[has_label], before[has_label]] = emit[lengths - 1, rows, before][has_label]
        # state s may be reached from s + 2 when the skip into s + 2 is allowed
        skip_back = np.zeros_like(skip)
        skip_back[:, :-2] = skip[:, 2:]
        for t in range(steps - 1, -1, -1):
            if t + 1 < steps:
                nxt = beta[t + 1]
                skipped = np.where(skip_back, _shift(nxt, -2), -np.inf)
                step = _log_add(nxt, _shift(nxt, -1), skipped) + emit[t]
            else:
                step = beta[t]
            here = (t == lengths - 1)[:, None]
            beta[t] = np.where(here, start, np.where((t < lengths - 1)[:, None], step, -np.inf))
        return beta

    def backward(self, grad):
        lp, labels, lengths = self.lp, self.labels, self.input_lengths
        steps, batch, classes = lp.shape
        with np.errstate(invalid="ignore", over="ignore"):
            both = self.alpha + self._beta()  # ln α_t(s)β_t(s), (T, N, states)
        self._last_step_as_pytorch(both)
        with np.errstate(invalid="ignore", over="ignore"):
            # ln Σ over the states of each class, shifted per class by its largest term
            index = (
                np.arange(steps)[:, None, None],
                np.arange(batch)[None, :, None],
                np.broadcast_to(labels, both.shape),
            )
            top = np.full(lp.shape, -np.inf, lp.dtype)
            np.maximum.at(top, index, both)
            shift = np.where(top == -np.inf, 0, top)
            total = np.zeros(lp.shape, lp.dtype)
            np.add.at(total, index, np.exp(both - shift[index]))
            with np.errstate(divide="ignore"):
                collected = np.log(total) + shift
            local = np.exp(lp) - np.exp(collected + self.nll[:, None] - lp)
        grad_lp = local * grad[None, :, None]
        inside = np.arange(steps)[:, None] < lengths  # (T, N)
        if self.zero_infinity:
            inside = inside & (self.nll != np.inf)
        return (np.where(inside[:, :, None], grad_lp, np.zeros((), lp.dtype)).astype(lp.dtype),)

    def _last_step_as_pytorch(self, both: np.ndarray) -> None:
        """PyTorch's kernel stores the last step's two end states (the final blank, then the
        last label) one after the other without adding them, taking them for different classes;
        so for a target whose last label is the blank (invalid, yet not refused by PyTorch)
        only the second counts. Dropping the first gives PyTorch's gradient there."""
        rows, end = np.arange(both.shape[1]), 2 * self.target_lengths
        last_label = self.labels[rows, np.maximum(end - 1, 0)]
        hit = (self.target_lengths > 0) & (self.input_lengths > 0)
        hit &= last_label == self.labels[rows, end]
        both[self.input_lengths[hit] - 1, rows[hit], end[hit]] = -np.inf

    def backward_graph(self, grad):
        """The gradient as a tensor in the graph (``create_graph=True``), as PyTorch's
        ``_ctc_loss_backward`` node: its value is :meth:`backward`'s, and differentiating it
        again is refused, as PyTorch's."""
        return (CTCBackward.apply(grad, self.parents[0], op=self),)


class CTCBackward(Function):
    """ctc_loss's gradient, recorded for ``create_graph=True``; it has no derivative itself."""

    label = "ctc_backward"
    formulas = (
        "not differentiable (as PyTorch's _ctc_loss_backward)",
        "not differentiable (as PyTorch's _ctc_loss_backward)",
    )

    def forward(self, grad, lp, *, op):
        return op.backward(grad)[0]

    def backward(self, grad):
        raise NotImplementedError(
            "the derivative for ctc_loss's gradient (PyTorch's '_ctc_loss_backward') is not "
            "implemented, as in PyTorch: ctc_loss has no second derivative"
        )

    backward_graph = backward  # (third derivatives neither)


def _lengths(value, batch: int, name: str) -> np.ndarray:
    array = np.asarray(value.array if isinstance(value, Tensor) else value)
    if array.dtype.kind not in "iu":
        raise DTypeError(f"ctc_loss: {name} must be integral, got dtype {array.dtype}")
    array = array.astype(np.int64).reshape(-1)
    if array.size != batch:
        raise ShapeError(
            f"ctc_loss: {name} must be of size batch_size ({batch}), got {array.size} values"
        )
    if (array < 0).any():
        raise ValueError(
            f"ctc_loss: expected {name} to have value at least 0, but got {int(array.min())}"
        )
    return array


def _extended_labels(targets, target_lengths, batch, classes, blank) -> np.ndarray:
    """Each target as its blank-extended label sequence (blank, l1, blank, l2, ..., blank),
    (N, 2·max(S) + 1); states past a target's own 2·S + 1 are never used."""
    data = np.asarray(targets.array if isinstance(targets, Tensor) else targets)
    if data.dtype.kind not in "iuf":
        raise DTypeError(f"ctc_loss: targets must be class indices, got dtype {data.dtype}")
    data = data.astype(np.int64)  # PyTorch converts the targets to int64 as well
    longest = int(target_lengths.max()) if batch else 0
    if data.ndim == 1:  # concatenated targets
        if data.shape[0] != target_lengths.sum():
            raise ShapeError(
                f"ctc_loss: concatenated targets must hold sum(target_lengths) = "
                f"{int(target_lengths.sum())} labels, got {data.shape[0]}"
            )
        padded = np.zeros((batch, longest), np.int64)
        starts = np.concatenate([[0], np.cumsum(target_lengths)[:-1]]).astype(np.int64)
        for n in range(batch):
            padded[n, : target_lengths[n]] = data[starts[n] : starts[n] + target_lengths[n]]
    elif data.ndim == 2:
        if data.shape[0] != batch or data.shape[1] < longest:
            raise ShapeError(
                f"ctc_loss: padded targets must have shape (N, S) with N = {batch} and S at least "
                f"max(target_lengths) = {longest}, got {data.shape}"
            )
        padded = data[:, :longest]
    else:
        raise ShapeError(f"ctc_loss: targets must be (N, S) or 1-d, got shape {data.shape}")
    used = np.arange(longest) < target_lengths[:, None]
    if ((padded < 0) | (padded >= classes))[used].any():
        raise IndexOutOfRangeError(f"ctc_loss: a target label is outside [0, {classes})")
    labels = np.full((batch, 2 * longest + 1), blank, np.int64)
    labels[:, 1::2] = np.where(used, padded, blank)
    return labels


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank: int = 0,
    reduction: str = "mean",
    zero_infinity: bool = False,
) -> Tensor:
    """The CTC loss: −ln of the total probability of every alignment of each target with the
    input's time steps, as ``torch.nn.functional.ctc_loss``.

    Args:
        log_probs: (T, N, C) or (T, C) log-probabilities (``log_softmax`` over C).
        targets: (N, S) padded or 1-d concatenated class indices (blank excluded).
        input_lengths, target_lengths: (N,) integers (or one each, unbatched): each sample's
            time steps (≤ T) and target length.
        blank: the blank class.
        reduction: ``"mean"`` (each loss divided by its target length, then the batch mean),
            ``"sum"`` or ``"none"`` ((N,), 0-d unbatched).
        zero_infinity: infinite losses (targets that cannot fit) and their gradients become 0.

    Example:
        >>> import chainrule as cr, numpy as np
        >>> lp = cr.log_softmax(cr.zeros(3, 1, 2, dtype="float64"), 2)  # 6 of 8 paths read "1"
        >>> loss = cr.nn.functional.ctc_loss(lp, np.array([[1]]), [3], [1], reduction="sum")
        >>> round(loss.item(), 4)
        0.2877
    """
    reduction = mean_alias(reduction, "ctc_loss")
    _check_reduction(reduction, "ctc_loss")
    lp = float_operand(log_probs, "ctc_loss")
    if lp.ndim not in (2, 3):
        raise ShapeError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape {lp.shape}")
    batched = lp.ndim == 3
    if not batched:
        lp = lp.unsqueeze(1)
    _, batch, classes = lp.shape
    blank = check_int(blank, "blank", "ctc_loss")  # 0.5 is no class
    if not 0 <= blank < classes:
        raise ValueError(f"ctc_loss: blank must be in label range [0, {classes}), got {blank}")
    lengths_in = _lengths(input_lengths, batch, "input_lengths")
    lengths_out = _lengths(target_lengths, batch, "target_lengths")
    if (lengths_in > lp.shape[0]).any():
        raise ValueError(
            f"ctc_loss: expected input_lengths to have value at most {lp.shape[0]} (T), but got "
            f"{int(lengths_in.max())}"
        )
    labels = _extended_labels(targets, lengths_out, batch, classes, int(blank))
    losses = CTC.apply(
        lp,
        labels=labels,
        input_lengths=lengths_in,
        target_lengths=lengths_out,
        zero_infinity=bool(zero_infinity),
    )
    if reduction == "mean":
        divisor = np.maximum(lengths_out, 1).astype(lp.array.dtype)
        return (losses / Tensor._make(divisor, False)).mean()
    if reduction == "sum":
        return losses.sum()
    return losses if batched else losses.reshape(())
