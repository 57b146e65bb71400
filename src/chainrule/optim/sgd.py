"""Stochastic gradient descent, with momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule._blas import MIN_SIZE, axpy
from chainrule.optim.optimizer import (
    Optimizer,
    check_implementation_flags,
    check_min,
    check_number,
    effective_grad,
)


class SGD(Optimizer):
    r"""Stochastic gradient descent (optionally with momentum), PyTorch's variant.

    For each parameter θ with gradient ∇ at step t (``maximize`` uses −∇)::

        g   = ∇ + λ·θ                          (λ = weight_decay)
        b_1 = g,   b_t = μ·b_{t−1} + (1 − τ)·g  (μ = momentum, τ = dampening; only if μ ≠ 0)
        d   = g + μ·b_t   if nesterov   else   b_t     (d = g when μ = 0)
        θ   ← θ − η·d                          (η = lr)

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η.
        momentum: momentum factor μ (0 = plain SGD).
        dampening: τ, scales down the new gradient in the momentum buffer.
        weight_decay: λ, L2 penalty added to the gradient.
        nesterov: use Nesterov momentum (needs μ > 0 and τ = 0).
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.SGD([w], lr=0.1, momentum=0.9)
        >>> (w * w).sum().backward()
        >>> opt.step()
        >>> w.data.tolist()
        [0.800000011920929, -1.600000023841858]
    """

    implementation_flags = ("foreach", "fused", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach=, fused=... (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        check_min("SGD", "lr", options["lr"])
        check_min("SGD", "momentum", options["momentum"])
        check_number("SGD", "dampening", options["dampening"])
        check_min("SGD", "weight_decay", options["weight_decay"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={options['momentum']}, dampening={options['dampening']}"
            )

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, momentum = float(group["lr"]), float(group["momentum"])
            dampening, weight_decay = float(group["dampening"]), float(group["weight_decay"])
            if momentum == 0 and weight_decay == 0 and not group["maximize"]:
                # Plain SGD: θ += ∇·(−η), the same bits as the general path below, without its
                # scratch buffers (their bookkeeping costs more than the update on small nets).
                step = None
                # Last parameter first: a model's first layer is the first one the next forward
                # pass reads, and updating it last leaves more of it in cache for that read
                # (callgrind's cache model, case (c): 3 % fewer L2 misses a step). Each update
                # reads only its own parameter and gradient, so the order changes no value.
                for p in reversed(group["params"]):
                    grad, data = p.grad_array, p.array
                    if grad is None:
                        continue
                    if grad.shape != data.shape or grad.dtype != data.dtype:
                        grad = self._grad_of(p)
                    if axpy(-lr, grad, data):  # one pass, rounded once (chainrule._blas)
                        continue
                    if step is None or step.dtype != data.dtype:
                        # −η as a 0-d array of the parameter's dtype: the same rounding as the
                        # Python float, and NumPy multiplies by it in half the time.
                        step = np.array(-lr, data.dtype)
                    if data.size == 1:
                        # NumPy 2.4 takes ~0.7 µs for an in-place ufunc on a one-element array,
                        # three times a fresh result plus a copy into place.
                        data[...] = data + grad * step
                    else:
                        data += grad * step
                continue
            for p in group["params"]:
                grad = self._grad_of(p)
                if grad is None:
                    continue
                work, update = self._scratch(p.array, 2)
                g = effective_grad(p.array, grad, weight_decay, group["maximize"], out=work)
                if momentum != 0:
                    state = self.state.setdefault(p, {})
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = np.array(g, copy=True)
                    else:
                        buf *= momentum
                        if dampening == 0:
                            buf += g
                        elif not axpy(1.0 - dampening, g, buf):
                            buf += np.multiply(g, 1.0 - dampening, out=update)
                    if group["nesterov"]:
                        if buf.size >= MIN_SIZE:  # g + μ·b rounded once where BLAS can
                            np.copyto(update, g)
                        if buf.size < MIN_SIZE or not axpy(momentum, buf, update):
                            np.add(g, np.multiply(buf, momentum, out=update), out=update)
                        g = update
                    else:
                        g = buf
                if not axpy(-lr, g, p.array):
                    p.array += np.multiply(g, -lr, out=update)
        return loss
