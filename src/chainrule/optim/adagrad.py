"""Adagrad: per-coordinate steps that shrink with the sum of past squared gradients."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.optimizer import (
    Optimizer,
    check_implementation_flags,
    check_min,
    effective_grad,
)


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan & Singer, 2011), PyTorch's variant.

    For each parameter θ with gradient ∇ at step t = 1, 2, ... (``maximize`` uses −∇)::

        g   = ∇ + λ·θ                              (λ = weight_decay)
        η_t = η / (1 + (t − 1)·δ)                  (δ = lr_decay)
        s_t = s_{t−1} + g²                          (s_0 = initial_accumulator_value)
        θ   ← θ − η_t · g / (√s_t + ε)

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η.
        lr_decay: δ, slows the learning rate down step by step.
        weight_decay: λ, L2 penalty added to the gradient.
        initial_accumulator_value: s_0, the starting value of the squared-gradient sum.
        eps: ε, added to the denominator.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.Adagrad([w], lr=0.5)
        >>> (w * w).sum().backward()
        >>> opt.step()  # the first step is lr·sign(g) in size
        >>> [round(x, 4) for x in w.data.tolist()]
        [0.5, -1.5]
    """

    implementation_flags = ("foreach", "fused", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach=, fused=... (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        for key in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            check_min("Adagrad", key, options[key])

    def _init_state(self, param, group):
        # As in PyTorch, the accumulator exists from the start (it need not begin at zero),
        # and starts at the constructor's value even where a group sets its own: PyTorch
        # reads self.defaults here, and a port must give its numbers.
        self.state[param] = {
            "step": 0,
            "sum": np.full_like(param.array, float(self.defaults["initial_accumulator_value"])),
        }

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, lr_decay, eps = float(group["lr"]), float(group["lr_decay"]), float(group["eps"])
            weight_decay = float(group["weight_decay"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                if p not in self.state:  # e.g. a parameter missing from a loaded state dict
                    self._init_state(p, group)
                state = self.state[p]
                state["step"] += 1
                work, tmp = self._scratch(p.array, 2)
                g = effective_grad(p.array, grad, weight_decay, group["maximize"], out=work)
                clr = lr / (1.0 + (state["step"] - 1) * lr_decay)
                state["sum"] += np.multiply(g, g, out=tmp)
                std = np.sqrt(state["sum"], out=tmp)
                std += eps
                update = np.divide(g, std, out=tmp)
                update *= -clr
                p.array += update
        return loss
