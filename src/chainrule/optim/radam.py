"""RAdam: Adam with the variance of its adaptive learning rate rectified."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

from chainrule.optim.optimizer import (
    Optimizer,
    check_betas,
    check_implementation_flags,
    check_min,
    effective_grad,
)


class RAdam(Optimizer):
    r"""RAdam (Liu et al., 2020), PyTorch's variant: plain momentum SGD while the second moment
    is too young to trust, rectified Adam after.

    For each parameter θ with gradient ∇ at step t = 1, 2, ... (``maximize`` uses −∇)::

        θ    ← θ·(1 − η·λ)             only with decoupled_weight_decay
        g    = ∇ + λ·θ                  only without it (L2)
        m_t  = β₁·m_{t−1} + (1 − β₁)·g
        v_t  = β₂·v_{t−1} + (1 − β₂)·g²
        ρ_∞  = 2/(1 − β₂) − 1 ;  ρ_t = ρ_∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
        r_t  = √((ρ_t − 4)(ρ_t − 2)·ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2)·ρ_t))
        θ    ← θ − η·m_t/(1 − β₁ᵗ) · r_t·√(1 − β₂ᵗ)/(√v_t + ε)     when ρ_t > 5
        θ    ← θ − η·m_t/(1 − β₁ᵗ)                                 otherwise

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η.
        betas: (β₁, β₂), each in [0, 1).
        eps: ε, keeps the division finite.
        weight_decay: λ.
        decoupled_weight_decay: shrink θ directly (as AdamW) instead of adding λ·θ to the
            gradient.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.RAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()  # step 1: ρ_t ≤ 5, a momentum-SGD step of η·g
        >>> [round(x, 4) for x in w.data.tolist()]
        [0.8, -1.6]
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach=, fused=... (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        for key in ("lr", "eps", "weight_decay"):
            check_min("RAdam", key, options[key])
        check_betas("RAdam", options["betas"])

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = (float(b) for b in group["betas"])
            weight_decay, decoupled = float(group["weight_decay"]), group["decoupled_weight_decay"]
            rho_inf = 2.0 / (1.0 - beta2) - 1.0
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                data = p.array
                state, t = self._next_step(p, "exp_avg", "exp_avg_sq")
                tmp, work = self._scratch(data, 2)
                if decoupled and weight_decay != 0:
                    data *= 1.0 - lr * weight_decay
                l2 = 0.0 if decoupled else weight_decay
                g = effective_grad(data, grad, l2, group["maximize"], out=work)

                m, v = state["exp_avg"], state["exp_avg_sq"]
                m += np.multiply(np.subtract(g, m, out=tmp), 1.0 - beta1, out=tmp)
                v *= beta2
                v += np.multiply(np.multiply(g, g, out=tmp), 1.0 - beta2, out=tmp)

                bias_correction1, bias_correction2 = 1.0 - beta1**t, 1.0 - beta2**t
                rho_t = rho_inf - 2.0 * t * beta2**t / bias_correction2
                if rho_t > 5.0:
                    rect = math.sqrt(
                        (rho_t - 4)
                        * (rho_t - 2)
                        * rho_inf
                        / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
                    )
                    denom = np.sqrt(v, out=tmp)
                    denom += eps
                    update = np.divide(m, denom, out=tmp)
                    update *= lr * rect * math.sqrt(bias_correction2) / bias_correction1
                else:  # the variance estimate is not yet usable: momentum SGD
                    update = np.multiply(m, lr / bias_correction1, out=tmp)
                data -= update
        return loss
