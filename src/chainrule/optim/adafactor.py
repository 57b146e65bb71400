"""Adafactor: Adam-like steps whose second-moment estimate of a matrix is stored as one row
and one column of averages (memory O(m + n) instead of O(m·n))."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.errors import ShapeError
from chainrule.optim.optimizer import (
    Optimizer,
    _plain_state_value,
    check_implementation_flags,
    check_min,
    check_number,
    effective_grad,
)
from chainrule.optim.state_arrays import load_special_state


class Adafactor(Optimizer):
    r"""Adafactor (Shazeer & Stern, 2018), PyTorch's variant (``torch.optim.Adafactor``).

    At step t with G = ∇ (``maximize`` uses −∇), β̂ = 1 − t^τ (τ = ``beta2_decay``)::

        ρ_t = min(lr, 1/√t) ;   α_t = max(ε₂, RMS(θ)) · ρ_t        (RMS(θ) before the decay)
        θ   ← θ·(1 − lr·λ)
        G of 2 or more dims, over its last two (m, n):
            R ← β̂·R + (1 − β̂)·mean(G², dim=−1)                   (state "row_var", m × 1)
            C ← β̂·C + (1 − β̂)·mean(G², dim=−2)                   (state "col_var", 1 × n)
            V = R·C / max(mean(R), ε₁)
        G of 0 or 1 dims:
            V ← β̂·V + (1 − β̂)·G²                                 (state "variance")
        U = G / √max(V, ε₁²) ;   θ ← θ − α_t · U / max(1, RMS(U)/d)

    ε₁ = None uses the machine epsilon of the parameter's dtype (that of the group's first
    parameter with a gradient, for the whole group, as in PyTorch).

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: the cap of the relative step size ρ_t, and the factor of the weight decay.
        beta2_decay: τ ≤ 0; 1 − β̂ = t^τ, the weight of the newest squared gradient.
        eps: (ε₁, ε₂): ε₁ ≥ 0 (or None) keeps the division finite, ε₂ ≥ 0 is the smallest
            parameter scale.
        d: d ≥ 1, the clipping threshold of the update's RMS.
        weight_decay: λ ≥ 0, decoupled weight decay.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([[1.0, -2.0], [3.0, 0.5]], requires_grad=True)
        >>> opt = optim.Adafactor([w])
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> sorted(opt.state[w])
        ['col_var', 'row_var', 'step']
    """

    implementation_flags = ("foreach",)

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
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"Adafactor: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        defaults = dict(
            lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d, weight_decay=weight_decay,
            maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _validate(self, options):
        check_min("Adafactor", "lr", options["lr"])
        if not check_number("Adafactor", "beta2_decay", options["beta2_decay"]) <= 0.0:
            raise ValueError(f"Adafactor: beta2_decay must be <= 0, got {options['beta2_decay']}")
        eps = options["eps"]
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise ValueError(f"Adafactor: eps must be a pair (eps1 or None, eps2), got {eps!r}")
        if eps[0] is not None:
            check_min("Adafactor", "eps[0]", eps[0])
        check_min("Adafactor", "eps[1]", eps[1])
        check_min("Adafactor", "d", options["d"], low=1.0)
        check_min("Adafactor", "weight_decay", options["weight_decay"])

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, d = float(group["lr"]), float(group["d"])
            eps1, eps2 = (None if e is None else float(e) for e in group["eps"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                if eps1 is None:
                    eps1 = float(np.finfo(p.array.dtype).eps)
                state = self._state_of(p)
                t = state["step"] = state["step"] + 1
                one_minus_beta2 = float(t) ** float(group["beta2_decay"])
                rho = min(lr, 1.0 / float(t) ** 0.5)
                alpha = max(eps2, _rms(p.array)) * rho
                if group["weight_decay"] != 0:
                    p.array *= 1.0 - lr * float(group["weight_decay"])
                work, update = self._scratch(p.array, 2)
                g = effective_grad(p.array, grad, 0.0, group["maximize"], out=work)

                if g.ndim > 1:
                    row_var, col_var = state["row_var"], state["col_var"]
                    square = np.square(g, out=update)
                    _lerp(row_var, square.mean(axis=-1, keepdims=True), one_minus_beta2)
                    _lerp(col_var, square.mean(axis=-2, keepdims=True), one_minus_beta2)
                    np.multiply(row_var, col_var, out=update)  # the outer product R·C
                    update /= np.maximum(row_var.mean(axis=-2, keepdims=True), eps1)
                else:
                    _lerp(state["variance"], g * g, one_minus_beta2)
                    np.copyto(update, state["variance"])
                # U = G / √max(V, ε₁²): ε₁ squared to keep its size through the square root
                np.maximum(update, eps1 * eps1, out=update)
                np.sqrt(update, out=update)
                np.divide(1.0, update, out=update)
                update *= g
                denom = max(1.0, _rms(update) / d)
                update *= -alpha / denom
                p.array += update
        return loss

    def _state_of(self, p) -> dict:
        state = self.state.get(p)
        if not state:
            state = self.state[p] = {"step": 0}
            data = p.array
            if data.ndim > 1:
                state["row_var"] = np.zeros(data.shape[:-1] + (1,), dtype=data.dtype)
                state["col_var"] = np.zeros(
                    data.shape[:-2] + (1,) + data.shape[-1:], dtype=data.dtype
                )
            else:
                state["variance"] = np.zeros_like(data)
        return state

    def load_state_dict(self, state_dict) -> None:
        """As :meth:`Optimizer.load_state_dict`; ``row_var`` and ``col_var`` have the shapes
        of a parameter reduced over its last and second-to-last dimension."""

        def convert(p, key, value):
            data = p.array
            reduced = -1 if key == "row_var" else -2
            shape = list(data.shape)
            if len(shape) > 1:
                shape[reduced] = 1
            value = np.array(_plain_state_value(key, value), dtype=data.dtype, copy=True)
            if value.shape != tuple(shape):
                raise ShapeError(
                    f"Adafactor.load_state_dict: state {key!r} of a parameter of shape "
                    f"{data.shape} has shape {value.shape}, expected {tuple(shape)}"
                )
            return value

        load_special_state(self, state_dict, ("row_var", "col_var"), convert)


def _rms(x: np.ndarray) -> float:
    """‖x‖₂ / √numel, as PyTorch's ``x.norm(2).item() / numel ** 0.5``."""
    return float(np.linalg.norm(x.reshape(-1))) / x.size**0.5


def _lerp(state: np.ndarray, target: np.ndarray, weight: float) -> None:
    """state ← lerp(state, target, weight) in place, with PyTorch's two formulas (each exact
    at its end: weight 1 gives target itself)."""
    if abs(weight) < 0.5:
        state += weight * (target - state)
    else:
        np.subtract(target, (target - state) * (1.0 - weight), out=state)
