"""Rprop: resilient backpropagation, PyTorch's variant (per-element step sizes, signs only)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule.optim.optimizer import Optimizer, check_implementation_flags, check_min


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993), as ``torch.optim.Rprop``.

    Each element keeps its own step size Δ (starting at ``lr``) and moves by the sign of its
    gradient only (``maximize`` uses −∇)::

        s   = sign(∇_t · ∇_{t−1})
        Δ_t = clip(Δ_{t−1} · (η₊ if s > 0, η₋ if s < 0, 1 if s = 0), Δ_min, Δ_max)
        ∇_t ← 0 where s < 0            (the step after a sign change is skipped)
        θ  ← θ − sign(∇_t) · Δ_t

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: the starting step size Δ₀.
        etas: (η₋, η₊), with 0 < η₋ < 1 < η₊.
        step_sizes: (Δ_min, Δ_max).
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = cr.optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> [round(v, 4) for v in w.tolist()]
        [0.9, -1.9]
    """

    implementation_flags = ("foreach", "capturable", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach=, capturable=... (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(lr=lr, etas=tuple(etas), step_sizes=tuple(step_sizes), maximize=maximize)
        super().__init__(params, defaults)

    def _validate(self, options):
        check_min("Rprop", "lr", options["lr"])
        etas = options["etas"]
        if len(etas) != 2 or not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Rprop: etas must be (etaminus, etaplus) with 0 < etaminus < 1 < "
                             f"etaplus, got {etas}")  # fmt: skip
        if len(options["step_sizes"]) != 2:
            raise ValueError(f"Rprop: step_sizes must be (min, max), got {options['step_sizes']}")

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            etaminus, etaplus = (float(e) for e in group["etas"])
            step_min, step_max = (float(s) for s in group["step_sizes"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state.update(step=0, prev=np.zeros_like(p.array),
                                 step_size=np.full_like(p.array, float(group["lr"])))  # fmt: skip
                state["step"] += 1
                grad = -grad if group["maximize"] else grad.copy()
                sign = np.sign(grad * state["prev"])
                # PyTorch's order of masked writes, which leaves a NaN product NaN
                sign[sign > 0] = etaplus
                sign[sign < 0] = etaminus
                sign[sign == 0] = 1
                step_size = state["step_size"]
                step_size *= sign
                np.clip(step_size, step_min, step_max, out=step_size)
                grad[sign == etaminus] = 0
                p.array -= np.sign(grad) * step_size
                state["prev"][...] = grad
        return loss
