"""ASGD: SGD with a decaying step size and a running average of the iterates."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule._dtype import get_default_dtype
from chainrule.optim.optimizer import (
    Optimizer,
    check_implementation_flags,
    check_min,
    check_number,
    effective_grad,
)


class ASGD(Optimizer):
    r"""Averaged stochastic gradient descent (Polyak & Juditsky, 1992), PyTorch's variant.

    Each parameter keeps a step size η_t (``eta``, η_0 = lr), an averaging weight μ_t (``mu``,
    μ_0 = 1) and the average of its iterates (``ax``). At step t with g = ∇ + λ_wd·θ
    (``maximize`` uses −∇)::

        θ    ← θ·(1 − λ·η_{t−1}) − η_{t−1}·g
        ax   ← ax + μ_{t−1}·(θ − ax)         (a copy of θ while μ = 1, i.e. until t > t₀ + 1)
        η_t  = lr / (1 + λ·lr·t)^α
        μ_t  = 1 / max(1, t − t₀)

    ``θ`` itself follows plain (decaying) SGD; the averaged weights are in
    ``opt.state[p]["ax"]``, to be copied into the model for evaluation. As in PyTorch, η and μ
    are stored rounded to float32 (float64 when ``cr.set_default_dtype(cr.float64)``), the
    precision of PyTorch's 0-d state tensors.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate, η_0.
        lambd: λ, the decay term (both of θ and of the step size).
        alpha: α, the power of the step-size decay.
        t0: t₀, the step after which averaging starts.
        weight_decay: λ_wd, L2 penalty added to the gradient.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> opt = optim.ASGD([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()  # nearly SGD's 1 − 0.1·2 at first
        >>> round(w.item(), 4)
        0.8
    """

    implementation_flags = ("foreach", "capturable", "differentiable")
    number_state = ("step", "eta", "mu")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        maximize: bool = False,
        **implementation,  # PyTorch's differentiable=, capturable= (check_implementation_flags)
    ):
        check_implementation_flags(self, {"foreach": foreach, **implementation})
        defaults = dict(
            lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay, maximize=maximize
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        check_min("ASGD", "lr", options["lr"])
        check_min("ASGD", "weight_decay", options["weight_decay"])
        for key in ("lambd", "alpha", "t0"):
            check_number("ASGD", key, options[key])

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        scalar = np.float64 if get_default_dtype() == np.float64 else np.float32
        for group in self.param_groups:
            lr, lambd, alpha = float(group["lr"]), float(group["lambd"]), float(group["alpha"])
            t0, weight_decay = float(group["t0"]), float(group["weight_decay"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = {
                        "step": 0,
                        "eta": float(scalar(lr)),
                        "mu": 1.0,
                        "ax": np.zeros_like(p.array),
                    }
                t = state["step"] = state["step"] + 1
                work, tmp = self._scratch(p.array, 2)
                g = effective_grad(p.array, grad, weight_decay, group["maximize"], out=work)

                eta, mu = float(state["eta"]), float(state["mu"])
                p.array *= 1.0 - lambd * eta
                p.array += np.multiply(g, -eta, out=tmp)
                ax = state["ax"]
                if mu != 1.0:
                    ax += np.multiply(np.subtract(p.array, ax, out=tmp), mu, out=tmp)
                else:
                    np.copyto(ax, p.array)
                state["eta"] = float(scalar(lr / (1.0 + lambd * lr * t) ** alpha))
                state["mu"] = float(scalar(1.0 / max(1.0, t - t0)))
        return loss
