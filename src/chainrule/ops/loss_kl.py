"""The Kullback–Leibler divergence loss, as ``torch.nn.functional.kl_div``: the input holds
log-probabilities, the target probabilities (or log-probabilities with ``log_target=True``)."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops.loss_common import (
    _float_input,
    _float_target,
    _promoted,
    _same_shape,
    legacy_reduction,
)
from chainrule.tensor import Tensor

_REDUCTIONS = ("mean", "batchmean", "sum", "none")


class KLDiv(Function):
    """ℓ = t·(ln t − x) (0 where t = 0), or e^t·(t − x) for a log-target.
    Local derivatives: −t (−e^t) for the input x; ln t + 1 − x (e^t·(t − x + 1)) for t."""

    named_by_call = True  # grad_fn.name() reads the call (autograd/grad_fn_names.py)

    label = "kl_div"
    formulas = ("−t", "ln t + 1 − x")

    def forward(self, x, t, reduction, log_target):
        self.x, self.t, self.reduction, self.log_target = x, t, reduction, log_target
        with np.errstate(divide="ignore", invalid="ignore"):
            if log_target:
                self.weight = np.exp(t)
                pointwise = self.weight * (t - x)
            else:
                self.weight = t
                # t·ln t is 0 at t = 0 (PyTorch's xlogy), NaN stays NaN
                t_log_t = np.where(t == 0, np.zeros((), t.dtype), t * np.log(t))
                pointwise = t_log_t - t * x
        if reduction == "none":
            return pointwise
        total = pointwise.sum()
        return np.asarray(total / self._count() if reduction != "sum" else total, x.dtype)

    @property
    def count(self) -> int:
        """What the mean divides by (the batch for "batchmean"): the explainer writes the /n's n."""
        return self._count()

    def _count(self) -> int:
        if self.reduction == "batchmean":
            return self.x.shape[0] if self.x.ndim else 1
        return self.x.size

    def backward(self, grad):
        g = grad if self.reduction == "none" else grad[()]
        if self.reduction in ("mean", "batchmean"):
            g = g / self._count()
        grad_x = -(self.weight * g) if self.needs_grad[0] else None
        grad_t = None
        if self.needs_grad[1]:
            t, x = self.t, self.x
            with np.errstate(divide="ignore", invalid="ignore"):
                if self.log_target:
                    local = self.weight * (t - x + 1)
                else:
                    local = np.log(t) + t / t - x  # t/t: NaN at t = 0, as PyTorch's xlogy
            grad_t = local * g
        return (
            None if grad_x is None else np.asarray(grad_x, self.x.dtype),
            None if grad_t is None else np.asarray(grad_t, self.t.dtype),
        )

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        x, t = self.parents
        g = grad if self.reduction in ("none", "sum") else grad / self._count()
        weight = t.exp() if self.log_target else t
        with np.errstate(divide="ignore", invalid="ignore"):
            local = weight * (t - x + 1) if self.log_target else t.log() + t / t - x
        return -(weight * g), local * g


def kl_div(  # noqa: A002
    input,
    target,
    size_average=None,
    reduce=None,
    reduction: str = "mean",
    log_target: bool = False,
) -> Tensor:
    """KL divergence Σ t·(ln t − input) between a target distribution and log-probabilities
    ``input``, as ``torch.nn.functional.kl_div``.

    Args:
        input: log-probabilities (e.g. ``log_softmax`` output).
        target: probabilities of the same shape, or log-probabilities with ``log_target``.
        reduction: ``"batchmean"`` (the sum divided by the batch size: the KL divergence per
            example, what the definition asks for), ``"sum"``, ``"mean"`` (over every
            element, PyTorch's default) or ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> logp = cr.log_softmax(cr.tensor([[1.0, 2.0, 3.0]]), 1)
        >>> target = cr.tensor([[0.2, 0.3, 0.5]])
        >>> round(cr.functional.kl_div(logp, target, reduction="batchmean").item(), 4)
        0.078
    """
    reduction = legacy_reduction("kl_div", size_average, reduce, reduction)
    if reduction not in _REDUCTIONS:
        raise ValueError(f"kl_div: reduction must be one of {_REDUCTIONS}, got {reduction!r}")
    input = _float_input(input, "kl_div")
    input = _promoted(input, target)
    target = _float_target(target, input, "kl_div")
    _same_shape(input, target, "kl_div")
    return KLDiv.apply(input, target, reduction=reduction, log_target=bool(log_target))
