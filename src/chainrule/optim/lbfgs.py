"""L-BFGS: a quasi-Newton method that builds its step from the last few gradient changes."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from chainrule.autograd.grad_mode import enable_grad
from chainrule.autograd.inplace import note_step
from chainrule.errors import ShapeError
from chainrule.optim.line_search import strong_wolfe
from chainrule.optim.optimizer import Optimizer, check_min, check_number
from chainrule.optim.state_arrays import load_special_state

# LBFGS's state, in PyTorch's order (kept, as PyTorch keeps it, under the first parameter)
_SAVED = ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss")


class LBFGS(Optimizer):
    r"""L-BFGS (Liu & Nocedal, 1989), PyTorch's port of minFunc, step for step.

    ``step(closure)`` runs up to ``max_iter`` iterations, each calling ``closure`` (which
    must clear the gradients, compute the loss, call ``backward()`` and return the loss)::

        g = ∇ of all parameters, flattened into one vector
        s = t·d (the last step), y = g − g_prev; if y·s > 1e-10, (s, y) joins the history
        d = −H·g, H the inverse-Hessian estimate from the last ``history_size`` pairs
            (two-loop recursion, H₀ = (y·s)/(y·y)·I); at the very first iteration d = −g
        t = lr (the first iteration: min(1, 1/‖g‖₁)·lr), or a strong-Wolfe line search
        θ ← θ + t·d

    It stops when ``max(|g|) <= tolerance_grad``, when the step or the change of the loss is
    below ``tolerance_change``, or after ``max_iter`` iterations / ``max_eval`` closure calls.
    The history survives between ``step`` calls; it lives in ``opt.state`` under the first
    parameter, as in PyTorch (``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``,
    ``prev_flat_grad``, ``prev_loss``, ``n_iter``, ``func_evals``, ``al``).

    Args:
        params: the tensors to optimize, all in one group (LBFGS has no per-group options).
        lr: learning rate, the step length t (the line search's first guess).
        max_iter: iterations per ``step`` call.
        max_eval: closure calls per ``step`` call (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when the largest gradient element is at most this.
        tolerance_change: stop when the loss or the parameters change less than this.
        history_size: how many (s, y) pairs the inverse-Hessian estimate uses.
        line_search_fn: ``None`` (a fixed step ``lr``) or ``"strong_wolfe"``.

    Example:
        >>> import chainrule as cr
        >>> from chainrule import optim
        >>> w = cr.tensor([3.0, -1.0], requires_grad=True, dtype="float64")
        >>> opt = optim.LBFGS([w], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((w - 1.0) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> [round(x, 6) for x in w.data.tolist()]
        [1.0, 1.0]
    """

    implementation_flags = ()

    def __init__(
        self,
        params: Iterable,
        lr: float = 1,
        max_iter: int = 20,
        max_eval: int | None = None,
        tolerance_grad: float = 1e-7,
        tolerance_change: float = 1e-9,
        history_size: int = 100,
        line_search_fn: str | None = None,
    ):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        defaults = dict(
            lr=lr,
            max_iter=max_iter,
            max_eval=max_eval,
            tolerance_grad=tolerance_grad,
            tolerance_change=tolerance_change,
            history_size=history_size,
            line_search_fn=line_search_fn,
        )
        super().__init__(params, defaults)

    def _validate(self, options):
        check_min("LBFGS", "lr", options["lr"])
        check_number("LBFGS", "max_iter", options["max_iter"])
        check_number("LBFGS", "max_eval", options["max_eval"])
        history_size = options["history_size"]
        if isinstance(history_size, bool) or not isinstance(history_size, numbers.Integral):
            raise TypeError(f"LBFGS: history_size must be an int, got {history_size!r}")
        if history_size < 1:  # (PyTorch fails at the first update of the history)
            raise ValueError(f"LBFGS: history_size must be >= 1, got {history_size}")
        check_number("LBFGS", "tolerance_grad", options["tolerance_grad"])
        check_number("LBFGS", "tolerance_change", options["tolerance_change"])
        if options["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                f"LBFGS: line_search_fn must be None or 'strong_wolfe' (the only line search "
                f"PyTorch has), got {options['line_search_fn']!r}"
            )

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        if self.param_groups:
            raise ValueError(
                "LBFGS doesn't support per-parameter options (parameter groups): it treats "
                "all parameters as one vector; give them in one group"
            )
        super().add_param_group(param_group)

    def step(self, closure: Callable[[], Any] | None = None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call.

        Args:
            closure: re-evaluates the model and returns the loss (required): it must zero the
                gradients, compute the loss and call ``loss.backward()``.
        """
        if closure is None:
            raise TypeError(
                "LBFGS.step() needs a closure, as in PyTorch: def closure(): opt.zero_grad(); "
                "loss = loss_fn(model(x), y); loss.backward(); return loss — then "
                "opt.step(closure)"
            )
        group = self.param_groups[0]
        state = self.state[group["params"][0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = self._evaluate(closure)
        loss = float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss  # already optimal
        memory = {key: state.get(key) for key in _SAVED}
        self._iterate(closure, group, state, memory, loss, flat_grad)
        state.update(memory)
        return orig_loss

    def _iterate(self, closure, group, state, memory, loss, flat_grad) -> None:
        """The iterations of one ``step``; ``memory`` holds the state entries of ``_SAVED``."""
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tolerance_change = group["tolerance_change"]
        current_evals, n_iter = 1, 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                memory.update(d=-flat_grad, old_dirs=[], old_stps=[], ro=[], H_diag=1)
            else:
                self._direction(state, memory, flat_grad, group["history_size"])
            if memory["prev_flat_grad"] is None:
                memory["prev_flat_grad"] = flat_grad.copy()
            else:
                np.copyto(memory["prev_flat_grad"], flat_grad)
            memory["prev_loss"] = prev_loss = loss
            d = memory["d"]
            if state["n_iter"] == 1:
                with np.errstate(divide="ignore"):
                    memory["t"] = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                memory["t"] = lr
            gtd = flat_grad.dot(d)  # the slope along d
            if gtd > -tolerance_change:
                break
            if group["line_search_fn"] is not None:
                x_init = [p.array.copy() for p in group["params"]]
                loss, flat_grad, t, evals = strong_wolfe(
                    lambda x, t, d: self._directional_evaluate(closure, x, t, d),
                    x_init, memory["t"], d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals,
                )  # fmt: skip
                memory["t"] = t
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= group["tolerance_grad"]
            else:
                self._add_grad(memory["t"], d)
                evals, opt_cond = 0, False
                if n_iter != max_iter:  # (no evaluation after the last move: it would be unused)
                    loss = float(self._evaluate(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= group["tolerance_grad"]
                    evals = 1
            current_evals += evals
            state["func_evals"] += evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * memory["t"]).max() <= tolerance_change:  # the step was tiny
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

    def _direction(self, state, memory, flat_grad, history_size) -> None:
        """Add the last (s, y) pair to the history and set d = −H·g (two-loop recursion)."""
        old_dirs, old_stps, ro = memory["old_dirs"], memory["old_stps"], memory["ro"]
        y = flat_grad - memory["prev_flat_grad"]
        s = memory["d"] * memory["t"]
        ys = y.dot(s)
        if ys > 1e-10:  # keep only pairs of positive curvature (H stays positive definite)
            if len(old_dirs) == history_size:
                old_dirs.pop(0)
                old_stps.pop(0)
                ro.pop(0)
            old_dirs.append(y)
            old_stps.append(s)
            ro.append(1.0 / ys)
            memory["H_diag"] = ys / y.dot(y)
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            q += old_dirs[i] * -al[i]
        r = q * memory["H_diag"]
        for i in range(len(old_dirs)):
            be_i = old_dirs[i].dot(r) * ro[i]
            r += old_stps[i] * (al[i] - be_i)
        memory["d"] = r

    # ---- the parameters as one flat vector ----------------------------------------------------
    def _evaluate(self, closure):
        with enable_grad():
            return closure()

    def _gather_flat_grad(self) -> np.ndarray:
        views = []
        for p in self.param_groups[0]["params"]:
            grad = self._grad_of(p)
            views.append(np.zeros(p.array.size, p.array.dtype) if grad is None else grad.ravel())
        return np.concatenate(views)

    def _add_grad(self, step_size, update: np.ndarray) -> None:
        """θ ← θ + step_size·update, ``update`` flat over all parameters."""
        note_step(self)  # (a backward through ops recorded before this raises, as in PyTorch)
        offset = 0
        for p in self.param_groups[0]["params"]:
            size = p.array.size
            p.array += (update[offset : offset + size] * step_size).reshape(p.array.shape)
            offset += size

    def _directional_evaluate(self, closure, x, t, d):
        """The loss and flat gradient at x + t·d; the parameters are put back to x after."""
        self._add_grad(t, d)
        loss = float(self._evaluate(closure))
        flat_grad = self._gather_flat_grad()
        note_step(self)
        for p, saved in zip(self.param_groups[0]["params"], x):
            np.copyto(p.array, saved)
        return loss, flat_grad

    # ---- save and load ------------------------------------------------------------------------
    def load_state_dict(self, state_dict) -> None:
        """As :meth:`Optimizer.load_state_dict`, for LBFGS's flat state: vectors as long as
        all parameters together, cast (with the 0-d values) to the first parameter's dtype, as
        PyTorch casts them."""
        size = sum(p.array.size for p in self.param_groups[0]["params"])

        def convert(p, key, value):
            return _loaded(key, value, p.array.dtype, size)

        load_special_state(self, state_dict, None, convert)


def _loaded(key: str, value: Any, dtype: np.dtype, size: int) -> Any:
    if key in ("d", "prev_flat_grad"):
        return None if value is None else _vector(key, value, dtype, size)
    if key in ("old_dirs", "old_stps"):
        return [_vector(key, v, dtype, size) for v in value]
    if key in ("ro", "al"):
        return [_scalar(v, dtype) for v in value]
    if key in ("n_iter", "func_evals"):
        return int(_scalar(value, dtype))
    return _scalar(value, dtype)  # t, H_diag, prev_loss


def _vector(key: str, value: Any, dtype: np.dtype, size: int) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, from PyTorch's own state dict
        value = value.detach().cpu().numpy()
    array = np.array(value, dtype=dtype, copy=True)
    if array.shape != (size,):
        raise ShapeError(
            f"LBFGS.load_state_dict: state {key!r} has shape {array.shape}; expected ({size},), "
            f"the number of elements of all parameters together"
        )
    return array


def _scalar(value: Any, dtype: np.dtype) -> Any:
    """Python numbers (and None) as they are; a 0-d tensor or array, or a NumPy float scalar
    (PyTorch's 0-d tensors), as a NumPy scalar of ``dtype``."""
    if value is None or type(value) in (int, float, bool):
        return value
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.ndim != 0:
        raise ShapeError(f"LBFGS.load_state_dict: expected a number, got an array {array.shape}")
    return array.astype(dtype)[()] if array.dtype.kind == "f" else array.item()
