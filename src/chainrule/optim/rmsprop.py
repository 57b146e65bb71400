"""RMSprop: divide each step by a running root-mean-square of recent gradients."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.optimizer import (
    Optimizer,
    check_implementation_flags,
    check_min,
    effective_grad,
)


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), PyTorch's variant, with optional momentum and centring.

    For each parameter θ with gradient ∇ at step t (``maximize`` uses −∇)::

        g   = ∇ + λ·θ                               (λ = weight_decay)
        v_t = α·v_{t−1} + (1 − α)·g²                (v_0 = 0)
        a_t = α·a_{t−1} + (1 − α)·g                 only if centered (a_0 = 0)
        s   = √(v_t − a_t²) + ε   if centered   else   √v_t + ε
        b_t = μ·b_{t−1} + g / s ;   θ ← θ − η·b_t   if μ > 0 (b_0 = 0)
        θ   ← θ − η·g / s                           if μ = 0

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η.
        alpha: α, smoothing constant of the squared-gradient average.
        eps: ε, added to the denominator.
        weight_decay: λ, L2 penalty added to the gradient.
        momentum: μ, momentum factor.
        centered: normalise by an estimate of the gradient's variance instead of its
            second moment.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> opt = optim.RMSprop([w], lr=0.01)
        >>> (w * w).sum().backward()
        >>> opt.step()  # the first step is lr/√(1 − α) = 0.1 in size
        >>> round(w.item(), 4)
        0.9
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach=, fused=... (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        for key in ("lr", "eps", "momentum", "weight_decay", "alpha"):
            check_min("RMSprop", key, options[key])

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, alpha, eps = float(group["lr"]), float(group["alpha"]), float(group["eps"])
            weight_decay, momentum = float(group["weight_decay"]), float(group["momentum"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = {"step": 0, "square_avg": np.zeros_like(p.array)}
                    if momentum > 0:
                        state["momentum_buffer"] = np.zeros_like(p.array)
                    if group["centered"]:
                        state["grad_avg"] = np.zeros_like(p.array)
                state["step"] += 1
                work, tmp = self._scratch(p.array, 2)
                g = effective_grad(p.array, grad, weight_decay, group["maximize"], out=work)

                square_avg = state["square_avg"]
                square_avg *= alpha
                square_avg += np.multiply(np.multiply(g, g, out=tmp), 1.0 - alpha, out=tmp)
                if group["centered"]:
                    grad_avg = state["grad_avg"]
                    grad_avg += np.multiply(np.subtract(g, grad_avg, out=tmp), 1.0 - alpha, out=tmp)
                    denom = np.subtract(square_avg, np.square(grad_avg, out=tmp), out=tmp)
                    np.sqrt(denom, out=denom)
                else:
                    denom = np.sqrt(square_avg, out=tmp)
                denom += eps
                if momentum > 0:
                    buf = state["momentum_buffer"]
                    buf *= momentum
                    buf += np.divide(g, denom, out=tmp)
                    p.array += np.multiply(buf, -lr, out=tmp)
                else:
                    update = np.divide(g, denom, out=tmp)
                    update *= -lr
                    p.array += update
        return loss
