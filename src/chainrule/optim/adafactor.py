"""Adafactor: Adam-like steps with a factored second moment, PyTorch's variant."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule._blas import axpy
from chainrule.optim.optimizer import (
    Optimizer,
    check_implementation_flags,
    check_min,
    check_number,
)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start ← lerp(start, end, weight) in place, with PyTorch's formula for each half."""
    if abs(weight) < 0.5:
        start += np.asarray(weight, start.dtype) * (end - start)
    else:
        start[...] = end - (end - start) * np.asarray(1 - weight, start.dtype)


def _l2(array: np.ndarray, **axes) -> np.ndarray:
    return np.sqrt(np.sum(array * array, **axes))


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018), as ``torch.optim.Adafactor``.

    For each parameter θ with gradient G at step t (``maximize`` uses −G); a matrix (or a
    batch of them, the last two dimensions) keeps row and column averages R, C of G² instead
    of a full second moment V::

        β̂₂ = 1 − t^τ,   ρ = min(lr, 1/√t),   α = max(ε₂, RMS(θ))·ρ      (τ = beta2_decay)
        θ ← θ·(1 − lr·λ)
        R ← lerp(R, mean of G² over rows, 1 − β̂₂)   C ← lerp(C, ... over columns, 1 − β̂₂)
        V̂ = R·C / max(mean(R), ε₁)        (a vector: V ← lerp(V, G², 1 − β̂₂), V̂ = V)
        U = G / √max(V̂, ε₁²)
        θ ← θ − α / max(1, RMS(U)/d) · U

    (the row means are taken as PyTorch takes them, as a squared norm over the row divided by
    its length). ε₁ = ``eps[0]``, by default the machine epsilon of the group's first
    parameter, as in PyTorch.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate (an upper bound on ρ).
        beta2_decay: τ ≤ 0.
        eps: (ε₁ or None, ε₂).
        d: clipping threshold, >= 1.
        weight_decay: λ, decoupled.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
        >>> opt = cr.optim.Adafactor([w])
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.shape
        (2, 2)
    """

    implementation_flags = ("foreach",)
    state_shapes_own = ("row_var", "col_var")  # the factored second moment

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach= (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                        weight_decay=weight_decay, maximize=maximize)  # fmt: skip
        super().__init__(params, defaults)

    def _validate(self, options):
        check_min("Adafactor", "lr", options["lr"])
        check_min("Adafactor", "weight_decay", options["weight_decay"])
        check_min("Adafactor", "d", options["d"], low=1.0)
        if check_number("Adafactor", "beta2_decay", options["beta2_decay"]) > 0:
            raise ValueError(f"Adafactor: beta2_decay must be <= 0, got {options['beta2_decay']}")
        eps = options["eps"]
        if len(eps) != 2 or (eps[0] is not None and eps[0] < 0) or eps[1] < 0:
            raise ValueError(f"Adafactor: eps must be (eps1 >= 0 or None, eps2 >= 0), got {eps}")

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            eps1, eps2 = group["eps"]
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                if eps1 is None:  # PyTorch's: the first parameter's dtype, for the group
                    eps1 = float(np.finfo(p.array.dtype).eps)
                self._update(p, -grad if group["maximize"] else grad, group, eps1, eps2)
        return loss

    def _update(self, p, grad, group, eps1, eps2) -> None:
        data, lr = p.array, float(group["lr"])
        state = self.state[p]
        if not state:
            state["step"] = 0
            if grad.ndim > 1:
                state["row_var"] = np.zeros(grad.shape[:-1] + (1,), grad.dtype)
                state["col_var"] = np.zeros(grad.shape[:-2] + (1,) + grad.shape[-1:], grad.dtype)
            else:
                state["variance"] = np.zeros_like(grad)
        state["step"] += 1
        step = float(state["step"])
        one_minus_beta2 = step ** group["beta2_decay"]
        rho = min(lr, 1 / step**0.5)
        alpha = max(eps2, float(_l2(data)) / data.size**0.5) * rho
        if group["weight_decay"] != 0:
            data *= 1 - lr * group["weight_decay"]
        if grad.ndim > 1:
            row_var, col_var = state["row_var"], state["col_var"]
            _lerp_(
                row_var, _l2(grad, axis=-1, keepdims=True) ** 2 / grad.shape[-1], one_minus_beta2
            )
            _lerp_(
                col_var, _l2(grad, axis=-2, keepdims=True) ** 2 / grad.shape[-2], one_minus_beta2
            )
            estimate = row_var @ col_var
            estimate /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
        else:
            _lerp_(state["variance"], grad * grad, one_minus_beta2)
            estimate = state["variance"].copy()
        update = 1 / np.sqrt(np.maximum(estimate, eps1 * eps1))
        update *= grad
        denom = max(1.0, float(_l2(update)) / (update.size**0.5 * group["d"]))
        if not axpy(-alpha / denom, update, data):
            data += update * np.asarray(-alpha / denom, data.dtype)
