"""``nn.AdaptiveLogSoftmaxWithLoss`` (Grave et al., "Efficient softmax approximation for GPUs"),
as PyTorch's: a head over the frequent classes plus one entry per cluster of rarer classes, and
a small two-layer projection per cluster. Made of the ordinary ops, so gradients need nothing
of their own; parameter names (``head.weight``, ``tail.0.0.weight``, ...) are PyTorch's.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from chainrule import ops
from chainrule._device import check_device
from chainrule.errors import DTypeError, IndexOutOfRangeError, ShapeError
from chainrule.nn._util import as_input
from chainrule.nn.container import ModuleList, Sequential
from chainrule.nn.functional import log_softmax
from chainrule.nn.linear import Linear
from chainrule.nn.module import Module
from chainrule.ops.indexing import gather
from chainrule.tensor import Tensor

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


def _check_cutoffs(cutoffs: list, n_classes: int) -> None:
    if not cutoffs:
        raise ValueError("cutoffs should be a sequence of length larger than 0")
    if (
        cutoffs != sorted(cutoffs)
        or min(cutoffs) <= 0
        or max(cutoffs) > n_classes - 1
        or len(set(cutoffs)) != len(cutoffs)
        or any(int(c) != c for c in cutoffs)
    ):
        raise ValueError(
            "cutoffs should be a sequence of unique, positive integers sorted in an increasing "
            f"order, where each value is between 1 and n_classes-1; got {cutoffs} for "
            f"n_classes={n_classes}"
        )


class AdaptiveLogSoftmaxWithLoss(Module):
    """Log-probabilities of many classes, cheaply: classes below ``cutoffs[0]`` are scored by
    the head, each later range ``[cutoffs[i], cutoffs[i+1])`` by its cluster's entry in the
    head plus a log-softmax over the cluster (``log p = log p_head(cluster) + log p(c | cluster)``).

    Args:
        in_features: features of each input row.
        n_classes: number of classes (sort them by frequency, the most frequent first).
        cutoffs: increasing class ids where the clusters start, each in [1, n_classes − 1].
        div_value: cluster i projects to ``in_features // div_value ** (i + 1)`` features.
        head_bias: a bias on the head.
        dtype: parameter dtype, float32 or float64.

    Returns (forward): a named tuple ``(output, loss)``: each row's target log-probability
    (N,) and the mean negative log-likelihood.

    Shape: input (N, in_features) with target (N,), or (in_features,) with a 0-d target.

    Example:
        >>> import chainrule as cr
        >>> asm = cr.nn.AdaptiveLogSoftmaxWithLoss(8, 10, cutoffs=[4, 7])
        >>> out = asm(cr.randn(3, 8), cr.tensor([0, 5, 9]))
        >>> out.output.shape, asm.log_prob(cr.randn(3, 8)).shape
        ((3,), (3, 10))
    """

    def __init__(
        self,
        in_features: int,
        n_classes: int,
        cutoffs,
        div_value: float = 4.0,
        head_bias: bool = False,
        device=None,
        dtype=None,
    ):
        super().__init__()
        check_device(device)
        cutoffs = list(cutoffs)
        _check_cutoffs(cutoffs, n_classes)
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = [int(c) for c in cutoffs] + [n_classes]
        self.div_value, self.head_bias = div_value, head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, dtype=dtype)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(
                Sequential(
                    Linear(in_features, hidden, bias=False, dtype=dtype),
                    Linear(hidden, size, bias=False, dtype=dtype),
                )
            )

    def reset_parameters(self) -> None:
        """Fresh weights, as each Linear's own initialisation."""
        self.head.reset_parameters()
        for to_hidden, to_classes in self.tail:
            to_hidden.reset_parameters()
            to_classes.reset_parameters()

    def forward(self, input, target) -> _ASMoutput:  # noqa: A002 - PyTorch's names
        x, targets = self._checked(input, target)
        batched = targets.ndim > 0
        x, targets = (x, targets) if batched else (x.unsqueeze(0), targets.reshape(1))
        cluster_of = np.searchsorted(self.cutoffs, targets, side="right")
        # the head's column for each row: its class in the shortlist, else its cluster's entry
        columns = np.where(cluster_of == 0, targets, self.shortlist_size + cluster_of - 1)
        head = log_softmax(self.head(x), dim=1)
        output = gather(head, 1, Tensor._make(columns[:, None], False)).squeeze(1)
        pieces, rows = [], []
        for i in range(1, self.n_clusters + 1):
            picked = np.flatnonzero(cluster_of == i)
            if picked.size == 0:
                continue
            local = log_softmax(self.tail[i - 1](x[picked]), dim=1)
            relative = (targets[picked] - self.cutoffs[i - 1])[:, None]
            pieces.append(gather(local, 1, Tensor._make(relative, False)).squeeze(1))
            rows.append(picked)
        if pieces:  # each cluster row's log p(c | cluster), put back at its row, 0 elsewhere
            order = np.concatenate(rows)
            scattered = ops.cat(pieces, 0)
            inverse = np.full(len(targets), len(order))
            inverse[order] = np.arange(len(order))
            zero = Tensor._make(np.zeros(1, scattered.array.dtype), False)
            output = output + ops.cat([scattered, zero], 0)[inverse]
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.squeeze(0), loss)

    def _checked(self, input, target) -> tuple[Tensor, np.ndarray]:  # noqa: A002
        """The input as a tensor of the weights' dtype and the targets as ids, PyTorch's
        checks with its messages."""
        targets = target.array if isinstance(target, Tensor) else np.asarray(target)
        if targets.dtype.kind not in "iu":
            raise DTypeError(
                f"AdaptiveLogSoftmaxWithLoss needs integer class ids as target, got dtype "
                f"{targets.dtype}; use target.long()"
            )
        x = as_input(input, self.head.weight.array.dtype, "AdaptiveLogSoftmaxWithLoss")
        if targets.ndim == 1:
            if x.shape[0] != targets.shape[0]:
                raise ShapeError(
                    f"Input and target should have the same size in the batch dimension: input "
                    f"{x.shape}, target {targets.shape}"
                )
            if x.ndim != 2:
                raise ShapeError(
                    f"1D target tensor expects 2D input tensors, but found inputs with size "
                    f"{x.shape}"
                )
        elif targets.ndim == 0:
            if x.ndim != 1:
                raise ShapeError(
                    f"0D target tensor expects 1D input tensors, but found inputs with size "
                    f"{x.shape}"
                )
        else:
            raise ShapeError("0D or 1D target tensor expected, multi-target not supported")
        if targets.size and (targets.min() < 0 or targets.max() >= self.n_classes):
            raise IndexOutOfRangeError(
                f"Target values should be in [0, {self.n_classes - 1}], but values in range "
                f"[{targets.min()}, {targets.max()}] were found"
            )
        return x, targets

    def _full_log_prob(self, x: Tensor, head_output: Tensor) -> Tensor:
        head = log_softmax(head_output, dim=1)
        parts = [head[:, : self.shortlist_size]]
        for i, cluster in enumerate(self.tail):
            entry = head[:, self.shortlist_size + i].unsqueeze(1)
            parts.append(log_softmax(cluster(x), dim=1) + entry)
        return ops.cat(parts, 1)

    def log_prob(self, input) -> Tensor:  # noqa: A002
        """Log-probabilities of all classes: (N, in_features) → (N, n_classes)."""
        x = as_input(input, self.head.weight.array.dtype, "AdaptiveLogSoftmaxWithLoss")
        return self._full_log_prob(x, self.head(x))

    def predict(self, input) -> Tensor:  # noqa: A002
        """The most probable class of each row, ``log_prob(input).argmax(1)``: (N,)."""
        x = as_input(input, self.head.weight.array.dtype, "AdaptiveLogSoftmaxWithLoss")
        head_output = self.head(x)
        best = head_output.argmax(dim=1).array.copy()
        outside = best >= self.shortlist_size
        if outside.any():
            rows = np.flatnonzero(outside)
            full = self._full_log_prob(x[rows], head_output[rows])
            best[rows] = full.argmax(dim=1).array
        return Tensor._make(best, False)
