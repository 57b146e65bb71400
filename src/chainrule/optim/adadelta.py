"""Adadelta: steps scaled by the ratio of past update sizes to past gradient sizes."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.optimizer import (
    Optimizer,
    check_implementation_flags,
    check_min,
    check_number,
    effective_grad,
)


class Adadelta(Optimizer):
    r"""Adadelta (Zeiler, 2012), PyTorch's variant (the optimizer of PyTorch's MNIST example).

    For each parameter θ with gradient ∇ (``maximize`` uses −∇)::

        g   = ∇ + λ·θ                                   (λ = weight_decay)
        v_t = ρ·v_{t−1} + (1 − ρ)·g²                    (square_avg)
        Δ   = √(u_{t−1} + ε) / √(v_t + ε) · g
        u_t = ρ·u_{t−1} + (1 − ρ)·Δ²                    (acc_delta)
        θ   ← θ − η·Δ

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η, a factor on Δ (default 1.0, as in PyTorch).
        rho: ρ in [0, 1], the decay of both running averages.
        eps: ε, keeps the square roots away from zero (and lets the first steps move).
        weight_decay: λ, L2 penalty added to the gradient.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.Adadelta([w])
        >>> (w * w).sum().backward()
        >>> opt.step()  # the first steps are tiny: √ε / √((1 − ρ)·g²) · g
        >>> [round(x, 4) for x in w.data.tolist()]
        [0.9968, -1.9968]
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach=, capturable=... (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, options):
        for key in ("lr", "eps", "weight_decay"):
            check_min("Adadelta", key, options[key])
        if not 0.0 <= check_number("Adadelta", "rho", options["rho"]) <= 1.0:
            raise ValueError(f"Adadelta: rho must be in [0, 1], got {options['rho']}")

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, rho, eps = float(group["lr"]), float(group["rho"]), float(group["eps"])
            weight_decay = float(group["weight_decay"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                state, _ = self._next_step(p, "square_avg", "acc_delta")
                work, tmp, std = self._scratch(p.array, 3)
                g = effective_grad(p.array, grad, weight_decay, group["maximize"], out=work)

                square_avg, acc_delta = state["square_avg"], state["acc_delta"]
                square_avg *= rho
                square_avg += np.multiply(np.multiply(g, 1.0 - rho, out=tmp), g, out=tmp)
                std = np.sqrt(np.add(square_avg, eps, out=std), out=std)
                delta = np.sqrt(np.add(acc_delta, eps, out=tmp), out=tmp)
                delta /= std
                delta *= g
                acc_delta *= rho
                acc_delta += np.multiply(np.multiply(delta, 1.0 - rho, out=std), delta, out=std)
                p.array -= np.multiply(delta, lr, out=tmp)
        return loss
