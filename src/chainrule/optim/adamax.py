"""Adamax: Adam with the infinity norm in place of the second moment."""

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


class Adamax(Optimizer):
    r"""Adamax (Kingma & Ba, 2015, section 7), PyTorch's variant.

    For each parameter θ with gradient ∇ at step t = 1, 2, ... (``maximize`` uses −∇)::

        g    = ∇ + λ·θ
        m_t  = β₁·m_{t−1} + (1 − β₁)·g
        u_t  = max(β₂·u_{t−1}, |g| + ε)
        θ    ← θ − η/(1 − β₁ᵗ) · m_t / u_t

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η (default 2e-3, as in PyTorch).
        betas: (β₁, β₂), each in [0, 1).
        eps: ε, keeps the division finite (added to |g| inside the max, as PyTorch).
        weight_decay: λ (an L2 term in the gradient).
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.Adamax([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()  # the first step moves each weight by about lr
        >>> [round(x, 4) for x in w.data.tolist()]
        [0.9, -1.9]
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach=, fused=... (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(
            lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay, maximize=maximize
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        for key in ("lr", "eps", "weight_decay"):
            check_min("Adamax", key, options[key])
        check_betas("Adamax", options["betas"])

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = (float(b) for b in group["betas"])
            weight_decay = float(group["weight_decay"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                data = p.array
                state, t = self._next_step(p, "exp_avg", "exp_inf")
                tmp, work = self._scratch(data, 2)
                g = effective_grad(data, grad, weight_decay, group["maximize"], out=work)

                m, u = state["exp_avg"], state["exp_inf"]
                m += np.multiply(np.subtract(g, m, out=tmp), 1.0 - beta1, out=tmp)
                u *= beta2
                np.maximum(u, np.add(np.abs(g, out=tmp), eps, out=tmp), out=u)
                update = np.divide(m, u, out=tmp)
                update *= lr / (1.0 - beta1**t)
                data -= update
        return loss
