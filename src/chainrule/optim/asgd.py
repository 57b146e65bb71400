"""ASGD: averaged stochastic gradient descent, PyTorch's variant."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule._blas import axpy
from chainrule.optim.optimizer import (
    Optimizer,
    check_implementation_flags,
    check_min,
    check_number,
    effective_grad,
)


class ASGD(Optimizer):
    r"""Averaged SGD (Polyak & Juditsky, 1992), as ``torch.optim.ASGD``.

    For each parameter θ with gradient ∇ at step t (``maximize`` uses −∇)::

        g   = ∇ + λ_w·θ                      (λ_w = weight_decay)
        θ  ← θ·(1 − λ·η_t) − η_t·g
        ax ← ax + μ_t·(θ − ax)               (ax = θ while μ_t = 1)
        η_{t+1} = lr / (1 + λ·lr·t)^α,   μ_{t+1} = 1 / max(1, t − t₀)

    ``state["ax"]`` is the running average of the parameter (copy it into the model to
    evaluate the averaged weights). As in PyTorch, η and μ are kept rounded to float32.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate.
        lambd: decay term λ.
        alpha: power α of the η update.
        t0: the step at which averaging starts.
        weight_decay: L2 penalty λ_w.
        foreach, differentiable, capturable: PyTorch's implementation switches (positional
            here as in PyTorch; see ``check_implementation_flags``).
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> opt = cr.optim.ASGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> round(w.item(), 4)
        0.8
    """

    implementation_flags = ("foreach", "differentiable", "capturable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        flags = dict(foreach=foreach, differentiable=differentiable, capturable=capturable)
        check_implementation_flags(self, flags)
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        maximize=maximize)  # fmt: skip
        super().__init__(params, defaults)

    def _validate(self, options):
        check_min("ASGD", "lr", options["lr"])
        check_min("ASGD", "weight_decay", options["weight_decay"])
        for key in ("lambd", "alpha", "t0"):
            check_number("ASGD", key, options[key])

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, lambd, alpha = float(group["lr"]), float(group["lambd"]), float(group["alpha"])
            t0, weight_decay = float(group["t0"]), float(group["weight_decay"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                data = p.array
                state = self.state[p]
                if not state:
                    state.update(step=0, eta=float(np.float32(lr)), mu=1.0,
                                 ax=np.zeros_like(data))  # fmt: skip
                state["step"] += 1
                work, tmp = self._scratch(data, 2)
                g = effective_grad(data, grad, weight_decay, group["maximize"], out=work)
                eta = state["eta"]
                data *= 1 - lambd * eta
                if not axpy(-eta, g, data):
                    data += np.multiply(g, -eta, out=tmp)
                ax = state["ax"]
                if state["mu"] != 1:
                    ax += np.multiply(np.subtract(data, ax, out=tmp), state["mu"], out=tmp)
                else:
                    ax[...] = data
                step = state["step"]
                state["eta"] = float(np.float32(lr / ((1 + lambd * lr * step) ** alpha)))
                state["mu"] = float(np.float32(1 / max(1, step - t0)))
        return loss
