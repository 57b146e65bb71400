"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from chainrule._blas import MIN_SIZE, axpy
from chainrule.optim.optimizer import (
    Optimizer,
    check_betas,
    check_implementation_flags,
    check_min,
    effective_grad,
)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), PyTorch's variant, with optional AMSGrad.

    For each parameter θ with gradient ∇ at step t = 1, 2, ... (``maximize`` uses −∇)::

        θ   ← θ·(1 − η·λ)              only with decoupled weight decay (AdamW)
        g   = ∇ + λ·θ                   only with L2 weight decay (Adam)
        m_t = β₁·m_{t−1} + (1 − β₁)·g
        v_t = β₂·v_{t−1} + (1 − β₂)·g²
        v̂_t = max(v̂_{t−1}, v_t)         with amsgrad; otherwise v̂_t = v_t
        θ   ← θ − η/(1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    m and v start at zero; the two ``1 − βᵗ`` factors undo their bias towards zero.

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η.
        betas: (β₁, β₂), decay rates of the first and second moment averages, each in [0, 1).
        eps: ε, keeps the division finite.
        weight_decay: λ (an L2 term in the gradient for Adam; decoupled for AdamW).
        amsgrad: divide by the largest v seen so far instead of the current one.
        maximize: climb the objective instead of descending.
        decoupled_weight_decay: shrink θ directly instead of adding λ·θ to the gradient
            (this is what :class:`AdamW` does).

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0, -2.0], requires_grad=True)
        >>> opt = optim.Adam([w], lr=0.1)
        >>> (w * w).sum().backward()
        >>> opt.step()  # the first Adam step moves each weight by about lr
        >>> [round(x, 4) for x in w.data.tolist()]
        [0.9, -1.9]
    """

    implementation_flags = ("foreach", "fused", "capturable", "differentiable")

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
        **implementation,  # PyTorch's foreach=, fused=... (check_implementation_flags)
    ):
        check_implementation_flags(self, implementation)
        defaults = dict(
            lr=lr,
            betas=tuple(betas),
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        name = type(self).__name__
        check_min(name, "lr", options["lr"])
        check_min(name, "eps", options["eps"])
        check_min(name, "weight_decay", options["weight_decay"])
        check_betas(name, options["betas"])

    def step(self, closure=None):
        """One update of every parameter that has a gradient (see the class docstring)."""
        loss = self._run_closure(closure)
        for group in self.param_groups:
            lr, eps = float(group["lr"]), float(group["eps"])
            beta1, beta2 = (float(b) for b in group["betas"])
            weight_decay = float(group["weight_decay"])
            decoupled, amsgrad = group["decoupled_weight_decay"], group["amsgrad"]
            maximize = group["maximize"]
            plain_grad = not maximize and (decoupled or weight_decay == 0)
            keep = 1.0 - lr * weight_decay if decoupled and weight_decay != 0 else None
            if plain_grad and keep is None and not amsgrad and self._flat_step(group, lr, eps):
                continue
            for p in group["params"]:
                grad, data = p.grad_array, p.array
                if grad is None:
                    continue
                if grad.shape != data.shape or grad.dtype != data.dtype:
                    grad = self._grad_of(p)
                state, t = self._next_step(p, "exp_avg", "exp_avg_sq")
                if keep is not None:
                    data *= keep
                # Scratch arrays are views of the optimizer's reused buffers and every pass
                # below writes in place, so the step allocates nothing.
                if plain_grad:
                    g, (tmp,) = grad, self._scratch(data, 1)
                else:
                    tmp, work = self._scratch(data, 2)
                    g = effective_grad(
                        data, grad, 0.0 if decoupled else weight_decay, maximize, out=work
                    )

                m, v = state["exp_avg"], state["exp_avg_sq"]
                # m += (1 − β₁)(g − m) and v += (1 − β₂)g² as BLAS axpy where it can: one pass
                # and one rounding fewer each (chainrule._blas)
                np.subtract(g, m, out=tmp)
                if not axpy(1.0 - beta1, tmp, m):
                    m += np.multiply(tmp, 1.0 - beta1, out=tmp)
                v *= beta2
                np.multiply(g, g, out=tmp)
                if not axpy(1.0 - beta2, tmp, v):
                    v += np.multiply(tmp, 1.0 - beta2, out=tmp)
                if amsgrad:
                    v_max = state.get("max_exp_avg_sq")
                    if v_max is None:
                        v_max = state["max_exp_avg_sq"] = np.zeros_like(data)
                    v = np.maximum(v_max, v, out=v_max)

                # η/(1−β₁ᵗ) · m/(√v/c + ε) with c = √(1−β₂ᵗ), rewritten as
                # η·c/(1−β₁ᵗ) · m/(√v + ε·c): the bias corrections become two scalars.
                bias_correction2_sqrt = (1.0 - beta2**t) ** 0.5
                step_size = lr * bias_correction2_sqrt / (1.0 - beta1**t)
                denom = np.sqrt(v, out=tmp)
                denom += eps * bias_correction2_sqrt
                update = np.divide(m, denom, out=tmp)
                if not axpy(-step_size, update, data):
                    update *= -step_size
                    data += update
        return loss

    def _flat_step(self, group, lr, eps) -> bool:
        """The plain update of a small group with every tensor's ufunc calls made once.

        For small networks the step costs NumPy calls, not arithmetic (12 per tensor). When every
        parameter of the group has a gradient of its own shape and dtype and the group holds at
        most ``_FLAT_MAX`` numbers, m and v live in one flat buffer each (the per-parameter
        state arrays are views of it), the gradients are gathered into a third, and the update
        runs once over all of them; the numbers are the same as the loop's, element by element.
        Returns False (the caller loops) when the group does not qualify.
        """
        params = group["params"]
        if len(params) < 2:
            return False
        dtype = params[0].array.dtype
        total = 0
        for p in params:
            grad, data = p.grad_array, p.array
            if grad is None or data.dtype != dtype or grad.dtype != dtype:
                return False
            if grad.shape != data.shape:
                return False
            total += data.size
        if total > _FLAT_MAX:
            return False
        key = ("adam_flat", id(group))
        flat = self._workspace.get(key)
        states = [self.state.get(p) for p in params]
        if flat is None or flat[0] != total or not _flat_views(flat, states):
            flat = _flatten_state(self.state, params, states, total, dtype)
            if flat is None:
                return False
            self._workspace[key] = flat
            states = [self.state[p] for p in params]
        _, m, v, g, tmp = flat
        t = states[0]["step"] + 1
        for state in states:
            state["step"] = t
        np.concatenate([p.grad_array.reshape(-1) for p in params], out=g)
        beta1, beta2 = (float(b) for b in group["betas"])
        m += np.multiply(np.subtract(g, m, out=tmp), 1.0 - beta1, out=tmp)
        v *= beta2
        v += np.multiply(np.multiply(g, g, out=tmp), 1.0 - beta2, out=tmp)
        bias_correction2_sqrt = (1.0 - beta2**t) ** 0.5
        step_size = lr * bias_correction2_sqrt / (1.0 - beta1**t)
        denom = np.sqrt(v, out=tmp)
        denom += eps * bias_correction2_sqrt
        update = np.divide(m, denom, out=tmp)
        update *= -step_size
        start = 0
        for p in params:
            data = p.array
            end = start + data.size
            data += update[start:end].reshape(data.shape)
            start = end
        return True


# Numbers in a group below which one set of ufunc calls beats a loop. Below the BLAS update's
# MIN_SIZE too, so a parameter gets the same bits whichever path updates it.
_FLAT_MAX = MIN_SIZE - 1


def _flat_views(flat, states) -> bool:
    """Whether every state is still a view of the flat buffers, all at the same step."""
    m, v = flat[1], flat[2]
    step = states[0]["step"] if states[0] else None
    for state in states:
        if not state or state["step"] != step:
            return False
        if state["exp_avg"].base is not m or state["exp_avg_sq"].base is not v:
            return False
    return True


def _flatten_state(optimizer_state, params, states, total, dtype):
    """Flat m, v, gradient and scratch buffers, the states rewired as views into m and v.

    Existing moments (from earlier steps or load_state_dict) are copied in; parameters at
    different step counts cannot share one bias correction, so they give None.
    """
    fresh = [not state for state in states]
    if any(fresh) and not all(fresh):
        return None
    if not all(fresh) and len({state["step"] for state in states}) != 1:
        return None
    m, v = np.zeros(total, dtype), np.zeros(total, dtype)
    start = 0
    for p, state, new in zip(params, states, fresh):
        shape, end = p.array.shape, start + p.array.size
        m_view, v_view = m[start:end].reshape(shape), v[start:end].reshape(shape)
        if new:
            state = optimizer_state[p] = {"step": 0}
        else:
            m_view[...] = state["exp_avg"]
            v_view[...] = state["exp_avg_sq"]
        state["exp_avg"], state["exp_avg_sq"] = m_view, v_view
        start = end
    return (total, m, v, np.empty(total, dtype), np.empty(total, dtype))


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    The same update as :class:`Adam`, except that weight decay shrinks the parameter directly
    instead of entering the gradient (and so the moment averages)::

        θ ← θ·(1 − η·λ)
        m_t, v_t, v̂_t as in Adam, from g = ∇ (or −∇ with maximize)
        θ ← θ − η/(1 − β₁ᵗ) · m_t / (√v̂_t / √(1 − β₂ᵗ) + ε)

    Args:
        params: tensors to optimize, or dicts defining parameter groups.
        lr: learning rate η.
        betas: (β₁, β₂), each in [0, 1).
        eps: ε.
        weight_decay: λ, decoupled decay rate (default 1e-2, as in PyTorch).
        amsgrad: use the running maximum of v.
        maximize: climb the objective instead of descending.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([1.0], requires_grad=True)
        >>> opt = optim.AdamW([w], lr=0.1, weight_decay=0.5)
        >>> w.grad = w.data * 0  # a zero gradient: only the decay acts
        >>> opt.step()
        >>> round(w.item(), 6)
        0.95
    """

    def __init__(
        self,
        params: Iterable,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        **implementation,  # PyTorch's foreach=, fused=... (check_implementation_flags)
    ):
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
            **implementation,
        )
