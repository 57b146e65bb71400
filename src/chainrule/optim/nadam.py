"""NAdam: Adam with Nesterov momentum and a momentum schedule."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.optimizer import (
    Optimizer,
    check_betas,
    check_implementation_flags,
    check_min,
    effective_grad,
)


class NAdam(Optimizer):
    r"""NAdam (Dozat, 2016), PyTorch's variant, with its momentum schedule.

    For each parameter θ with gradient ∇ at step t = 1, 2, ... (``maximize`` uses −∇)::

        θ    ← θ·(1 − η·λ)             only with decoupled_weight_decay
        g    = ∇ + λ·θ                  only without it (L2)
        μ_t  = β₁·(1 − ½·0.96^(t·ψ))    ψ = momentum_decay; μ_{t+1} likewise
        Π_t  = μ₁·μ₂·…·μ_t              (state "mu_product", float32 as in PyTorch)
        m_t  = β₁·m_{t−1} + (1 − β₁)·g
        v_t  = β₂·v_{t−1} + (1 − β₂)·g²
        d    = √(v_t / (1 − β₂ᵗ)) + ε
        θ    ← θ − η·(1 − μ_t)/(1 − Π_t) · g/d − η·μ_{t+1}/(1 − Π_t·μ_{t+1}) · m_t/d

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η (default 2e-3, as in PyTorch).
        betas: (β₁, β₂), each in [0, 1).
        eps: ε, keeps the division finite.
        weight_decay: λ.
        momentum_decay: ψ, how fast μ_t rises towards β₁ (default 4e-3).
        decoupled_weight_decay: shrink θ directly (NAdamW) instead of adding λ·θ to the
            gradient.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.NAdam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(x, 4) for x in w.data.tolist()]
        [0.8944, -1.8944]
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
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
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        for key in ("lr", "eps", "weight_decay", "momentum_decay"):
            check_min("NAdam", key, options[key])
        check_betas("NAdam", options["betas"])

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, eps, psi = float(group["lr"]), float(group["eps"]), float(group["momentum_decay"])
            beta1, beta2 = (float(b) for b in group["betas"])
            weight_decay, decoupled = float(group["weight_decay"]), group["decoupled_weight_decay"]
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                data = p.array
                state, t = self._next_step(p, "exp_avg", "exp_avg_sq", mu_product=1.0)
                tmp, work, update = self._scratch(data, 3)
                if decoupled and weight_decay != 0:
                    data *= 1.0 - lr * weight_decay
                l2 = 0.0 if decoupled else weight_decay
                g = effective_grad(data, grad, l2, group["maximize"], out=work)

                mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
                mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
                # PyTorch keeps Π in a float32 scalar tensor (its default scalar dtype) and
                # multiplies in float32; doing the same keeps float64 runs on its numbers
                mu_product = float(np.float32(state["mu_product"]) * np.float32(mu))
                state["mu_product"] = mu_product
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m += np.multiply(np.subtract(g, m, out=tmp), 1.0 - beta1, out=tmp)
                v *= beta2
                v += np.multiply(np.multiply(g, g, out=tmp), 1.0 - beta2, out=tmp)

                denom = np.sqrt(np.divide(v, 1.0 - beta2**t, out=tmp), out=tmp)
                denom += eps
                # the gradient's share (1 − μ_t) and the momentum's share μ_{t+1}, as PyTorch
                data += np.multiply(
                    np.divide(g, denom, out=update),
                    -lr * (1.0 - mu) / (1.0 - mu_product),
                    out=update,
                )
                data += np.multiply(
                    np.divide(m, denom, out=update),
                    -lr * mu_next / (1.0 - mu_product * mu_next),
                    out=update,
                )
        return loss
