"""Rprop: per-weight step sizes that grow while the gradient keeps its sign and shrink when
it flips; only the sign of the gradient moves the weight."""

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


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun, 1993), PyTorch's variant.

    Every element keeps its own step size Δ (``step_size``, Δ_0 = lr) and the gradient of the
    previous step g_prev (``prev``, 0 at first). With g = ∇ (``maximize`` uses −∇)::

        Δ ← min(Δ·η₊, Δ_max)            where g·g_prev > 0   (the same sign again: speed up)
        Δ ← max(Δ·η₋, Δ_min); g ← 0     where g·g_prev < 0   (the sign flipped: overshot)
        Δ unchanged                     where g·g_prev = 0
        θ ← θ − Δ·sign(g) ;   g_prev ← g

    The learning rate only sets the first step size, as in PyTorch: a later change of
    ``lr`` (a scheduler) does not reach a parameter that has already stepped.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: Δ_0, the initial step size of every element.
        etas: (η₋, η₊) with 0 < η₋ < 1 < η₊, the factors that shrink and grow Δ.
        step_sizes: (Δ_min, Δ_max), the bounds of Δ.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.Rprop([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()  # the first step is lr against the sign of the gradient
        >>> [round(x, 4) for x in w.data.tolist()]
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
        defaults = dict(
            lr=lr, etas=_pair(etas, "etas"), step_sizes=_pair(step_sizes, "step_sizes"),
            maximize=maximize,
        )  # fmt: skip
        super().__init__(params, defaults)

    def _validate(self, options):
        check_min("Rprop", "lr", options["lr"])
        eta_minus, eta_plus = _pair(options["etas"], "etas")
        check_number("Rprop", "etas[0]", eta_minus)
        check_number("Rprop", "etas[1]", eta_plus)
        if not 0.0 < eta_minus < 1.0 < eta_plus:
            raise ValueError(
                f"Rprop: etas must be (eta_minus, eta_plus) with 0 < eta_minus < 1 < eta_plus, "
                f"got {options['etas']!r}"
            )
        low, high = _pair(options["step_sizes"], "step_sizes")
        check_number("Rprop", "step_sizes[0]", low)
        check_number("Rprop", "step_sizes[1]", high)

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            eta_minus, eta_plus = (float(e) for e in group["etas"])
            low, high = (float(s) for s in group["step_sizes"])
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                state = self.state.get(p)
                if not state:
                    state = self.state[p] = {
                        "step": 0,
                        "prev": np.zeros_like(p.array),
                        "step_size": np.full_like(p.array, float(group["lr"])),
                    }
                state["step"] += 1
                work, factor = self._scratch(p.array, 2)
                g = effective_grad(p.array, grad, 0.0, group["maximize"], out=work)
                prev, step_size = state["prev"], state["step_size"]

                np.sign(np.multiply(g, prev, out=factor), out=factor)
                flipped = factor < 0
                factor[factor > 0] = eta_plus
                factor[flipped] = eta_minus
                factor[factor == 0] = 1.0  # (a NaN stays NaN, as in PyTorch)
                step_size *= factor
                np.clip(step_size, low, high, out=step_size)

                # after a sign flip the element rests a step: its gradient counts as zero
                np.copyto(prev, g)
                prev[flipped] = 0.0
                p.array -= np.multiply(np.sign(prev, out=factor), step_size, out=factor)
        return loss


def _pair(value, key: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"Rprop: {key} must be a pair of numbers, got {value!r}")
    return tuple(value)
