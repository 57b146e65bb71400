"""The op behind ``embedding_bag``: rows of an embedding table looked up and reduced per bag
(sum, mean or max) in one step, without the (ids, dim) array of looked-up rows that
``embedding(...).sum(1)`` would build and keep for backward.

Bags are given as the bag number of every id (``bag``) plus each bag's start and length;
``padding_idx`` ids are left out of every bag (they count neither in the sum nor in the mean's
divisor, and get no gradient). An empty bag gives zeros.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function

SUM, MEAN, MAX = "sum", "mean", "max"


class EmbeddingBag(Function):
    """``out[b] = reduce over the ids i of bag b of weight[i]`` (times ``per_sample_weights``
    in sum mode). Local derivatives: each id's row receives its bag's gradient, scaled by its
    per-sample weight, by 1/(bag size) in mean mode and by 1/(a frequency, PyTorch's) with
    ``scale_grad_by_freq``; in max mode only the row that held each maximum gets it. A
    per-sample weight's derivative is its row · its bag's gradient."""

    label = "embedding_bag"
    formulas = (
        "the bag's gradient at each looked-up row (÷ bag size for mean, to the max's row for max)",
        "the looked-up row · the bag's gradient",
    )

    def forward(self, weight, *per_sample_weights, layout, mode, padding_idx, scale_grad_by_freq):
        ids, bag, starts, lengths = layout
        self.ids, self.bag, self.mode, self.rows = ids, bag, mode, weight.shape[0]
        self.keep = ids != padding_idx if padding_idx is not None else np.ones(ids.shape, bool)
        self.weight, self.scale_grad_by_freq = weight, scale_grad_by_freq
        self.psw = per_sample_weights[0] if per_sample_weights else None
        n_bags = len(starts)
        if mode == MAX:
            return self._max(weight, starts, lengths)
        out = np.zeros((n_bags, weight.shape[1]), weight.dtype)
        keep = self.keep
        rows = weight[ids[keep]]
        if self.psw is not None:
            rows = rows * self.psw[keep][:, None]
        np.add.at(out, bag[keep], rows)  # in input order, as PyTorch's loop adds them
        self.sizes = np.bincount(bag[keep], minlength=n_bags)
        if mode == MEAN:
            out /= np.maximum(self.sizes, 1).astype(out.dtype)[:, None]
        return out

    def _max(self, weight, starts, lengths):
        """Per bag and column, the first largest value (a later equal one or a NaN does not
        replace it, as PyTorch's ``>``), and the id it came from."""
        n_bags, dim = len(starts), weight.shape[1]
        out = np.zeros((n_bags, dim), weight.dtype)
        self.argmax = np.full((n_bags, dim), -1, np.int64)
        seen = np.zeros(n_bags, bool)
        for k in range(int(lengths.max(initial=0))):
            at = np.flatnonzero(k < lengths)
            at = at[self.keep[starts[at] + k]]
            if not at.size:
                continue
            ids = self.ids[starts[at] + k]
            rows = weight[ids]
            better = (rows > out[at]) | ~seen[at][:, None]
            out[at] = np.where(better, rows, out[at])
            self.argmax[at] = np.where(better, ids[:, None], self.argmax[at])
            seen[at] = True
        return out

    def backward(self, grad):
        grad_weight = self._weight_grad(grad) if self.needs_grad[0] else None
        if len(self.needs_grad) == 1:
            return (grad_weight,)
        grad_psw = None
        if self.needs_grad[1]:
            grad_psw = np.zeros(self.ids.shape, grad.dtype)
            keep, rows = self.keep, self.weight[self.ids[self.keep]]
            grad_psw[keep] = np.einsum("nd,nd->n", grad[self.bag[keep]], rows)
        return grad_weight, grad_psw

    def backward_graph(self, grad):
        """The gradients as tensors, recorded so that differentiating them again raises, as
        PyTorch's (it has no derivative of embedding_bag's backward)."""
        grads = self.backward(grad.array)
        return tuple(
            None if g is None else EmbeddingBagGradient.apply(grad, *self.parents, value=g)
            for g in grads
        )

    def _weight_grad(self, grad) -> np.ndarray:
        grad_weight = np.zeros((self.rows, grad.shape[1]), grad.dtype)
        if self.mode == MAX:
            filled = self.argmax >= 0
            columns = np.broadcast_to(np.arange(grad.shape[1]), grad.shape)
            np.add.at(grad_weight, (self.argmax[filled], columns[filled]), grad[filled])
            return grad_weight
        keep = self.keep
        ids, bag = self.ids[keep], self.bag[keep]
        scale = np.ones(ids.shape, np.float64)  # in double, then rounded once, as PyTorch's
        if self.psw is not None:
            scale *= self.psw[keep]
        if self.scale_grad_by_freq:
            scale /= _frequencies(self.ids, self.rows)[ids]
        if self.mode == MEAN:
            scale /= self.sizes[bag]
        np.add.at(grad_weight, ids, grad[bag] * scale.astype(grad.dtype)[:, None])
        return grad_weight


def _frequencies(ids: np.ndarray, rows: int) -> np.ndarray:
    """Each id's divisor under ``scale_grad_by_freq``, as PyTorch 2.13's CPU kernel computes
    it: the i-th smallest distinct id is divided by the count of ``sorted(ids)[i]``, which is
    its own count only while no smaller id repeats (the kernel reads the sorted ids at the
    group's number, not at the group's start). Kept so that gradients equal PyTorch's."""
    counts = np.bincount(ids, minlength=rows)
    distinct = np.unique(ids)
    divisors = np.ones(rows, np.int64)
    divisors[distinct] = counts[np.sort(ids)[: len(distinct)]]
    return divisors


class EmbeddingBagGradient(Function):
    """An embedding_bag gradient kept in the graph (``create_graph=True``): its value is fixed,
    its own derivative is refused, as PyTorch refuses it."""

    saves_inputs = False
    label = "embedding_bag gradient"
    formulas = ("not implemented (as in PyTorch)",)

    def forward(self, *arrays, value):
        return value

    def backward(self, grad):
        raise NotImplementedError(
            "the derivative of embedding_bag's backward is not implemented (PyTorch has none "
            "either): second derivatives through embedding_bag are not supported; compose "
            "F.embedding(...) with .sum/.mean/.amax for them"
        )

    backward_graph = backward  # refused the same way inside a create_graph backward
