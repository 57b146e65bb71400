"""L-BFGS, PyTorch's variant (after minFunc), with its optional strong-Wolfe line search.

The iteration works on one flat vector of all the parameters, as PyTorch's does: the
gradient is gathered into it, the search direction comes from the last ``history_size``
(step, gradient change) pairs by the two-loop recursion, and the parameters move along it.
The numbers follow PyTorch's step for step (the scalars are 0-d values of the parameters'
dtype, as its 0-d tensors are).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

import numpy as np

from chainrule._blas import axpy
from chainrule.autograd.grad_mode import enable_grad
from chainrule.optim.optimizer import Optimizer, _plain_state_value, check_min, check_number

__all__ = ["LBFGS"]


def _add_scaled(y: np.ndarray, a, x: np.ndarray) -> None:
    """y += a·x, rounded once where BLAS can (as PyTorch's ``add_(x, alpha=a)``)."""
    if not axpy(float(a), x, y):
        y += x * np.asarray(a, y.dtype)


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clipped to bounds."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1**2 - g1 * g2
    if d2_square >= 0:
        d2 = np.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls):
    """Grow the step until an interval holds a point that satisfies the Wolfe conditions:
    ``(bracket, its f, its g, its gtd, done, line-search iterations, evaluations)``."""
    f_new, g_new = obj_func(x, t, d)
    evals, gtd_new = 1, g_new.dot(d)
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            break
        if abs(gtd_new) <= -c2 * gtd:
            return [t], [f_new], [g_new], None, True, ls_iter, evals
        if gtd_new >= 0:
            break
        min_step, max_step = t + 0.01 * (t - t_prev), t * 10
        tmp = t
        t = _cubic_interpolate(
            t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step)
        )
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    else:  # out of evaluations: PyTorch's bracket from 0
        return [0, t], [f, f_new], [g, g_new], None, False, ls_iter, evals
    bracket_gtd = [gtd_prev, gtd_new]
    return [t_prev, t], [f_prev, f_new], [g_prev, g_new.copy()], bracket_gtd, False, ls_iter, evals


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """PyTorch's strong-Wolfe line search: ``(f_new, g_new, t, function evaluations)``."""
    d_norm = np.abs(d).max()
    g = g.copy()
    bracket, bracket_f, bracket_g, bracket_gtd, done, ls_iter, evals = _bracket_phase(
        obj_func, x, t, d, f, g, gtd, c1, c2, max_ls
    )
    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:  # zoom into the bracket
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                               bracket[1], bracket_f[1], bracket_gtd[1])  # fmt: skip
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                t = (
                    max(bracket) - eps
                    if abs(t - max(bracket)) < abs(t - min(bracket))
                    else min(bracket) + eps
                )
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = (
                    bracket_g[low_pos],
                    bracket_gtd[low_pos],
                )
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new
    return bracket_f[low_pos], bracket_g[low_pos], bracket[low_pos], evals


class LBFGS(Optimizer):
    """L-BFGS (PyTorch's ``torch.optim.LBFGS``): a quasi-Newton method for full-batch problems.

    ``step(closure)`` runs up to ``max_iter`` iterations, each re-evaluating the loss through
    ``closure`` (which zeroes the gradients, computes the loss, calls ``backward()`` and
    returns the loss). One parameter group only, as in PyTorch.

    Args:
        params: the tensors to optimize (one group).
        lr: step length (1).
        max_iter: iterations per ``step`` (20).
        max_eval: closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: stop when the largest absolute gradient is at most this (1e-7).
        tolerance_change: stop when the loss or the parameters change less than this (1e-9).
        history_size: (step, gradient change) pairs kept (100).
        line_search_fn: ``None`` (fixed steps) or ``"strong_wolfe"``.

    Example:
        >>> import chainrule as cr
        >>> w = cr.tensor([3.0, -2.0], requires_grad=True, dtype="float64")
        >>> opt = cr.optim.LBFGS([w], line_search_fn="strong_wolfe")
        >>> def closure():
        ...     opt.zero_grad()
        ...     loss = ((w - 1.0) ** 2).sum()
        ...     loss.backward()
        ...     return loss
        >>> _ = opt.step(closure)
        >>> [round(v, 6) for v in w.tolist()]
        [1.0, 1.0]
    """

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
        if len(self.param_groups) != 1:
            raise ValueError(
                "LBFGS doesn't support per-parameter options (parameter groups); pass one "
                "list of tensors"
            )
        self._params = self.param_groups[0]["params"]

    def _validate(self, options):
        check_min("LBFGS", "lr", options["lr"])
        check_number("LBFGS", "tolerance_grad", options["tolerance_grad"])
        check_number("LBFGS", "tolerance_change", options["tolerance_change"])
        for key in ("max_iter", "history_size"):
            value = options[key]
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"LBFGS: {key} must be an integer >= 1, got {value!r}")
        check_min("LBFGS", "max_eval", options["max_eval"], low=1)  # PyTorch's old 1.25·max_iter
        if options["line_search_fn"] not in (None, "strong_wolfe"):
            raise ValueError(
                f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                f"{options['line_search_fn']!r}"
            )

    def add_param_group(self, param_group: dict) -> None:
        if self.param_groups:
            raise ValueError(
                "LBFGS doesn't support per-parameter options (parameter groups); build a new "
                "LBFGS over all the tensors"
            )
        super().add_param_group(param_group)

    # ---- the flat vector -----------------------------------------------------------------
    def _gather_flat_grad(self) -> np.ndarray:
        views = []
        for p in self._params:
            grad = self._grad_of(p)
            views.append(
                np.zeros(p.array.size, p.array.dtype) if grad is None else grad.reshape(-1)
            )
        return np.concatenate(views)

    def _add_grad(self, step_size, update: np.ndarray) -> None:
        offset = 0
        for p in self._params:
            n = p.array.size
            _add_scaled(p.array, step_size, update[offset : offset + n].reshape(p.array.shape))
            offset += n

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(closure())
        flat_grad = self._gather_flat_grad()
        for p, saved in zip(self._params, x):
            p.array[...] = saved
        return loss, flat_grad

    def step(self, closure: Callable):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss the first closure call gave."""
        if closure is None or not callable(closure):
            raise TypeError(
                "LBFGS.step needs a closure that re-evaluates the model and returns the loss "
                "(opt.zero_grad(); loss = loss_fn(model(x), y); loss.backward(); return loss)"
            )

        def evaluate():
            with enable_grad():
                return closure()

        group = self.param_groups[0]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        orig_loss = self._run_closure(evaluate)
        loss = float(orig_loss)
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if np.abs(flat_grad).max() <= group["tolerance_grad"]:
            return orig_loss
        self._iterate(evaluate, group, state, loss, flat_grad)
        return orig_loss

    def _iterate(self, evaluate, group, state, loss, flat_grad) -> None:
        lr, max_iter, max_eval = float(group["lr"]), group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        d, t = state.get("d"), state.get("t")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        current_evals, n_iter = 1, 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            d = self._direction(state, flat_grad, prev_flat_grad, d, t, group["history_size"])
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / np.abs(flat_grad).sum()) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break
            ls_func_evals = 0
            if group["line_search_fn"] is not None:
                x_init = [p.array.copy() for p in self._params]

                def obj_func(x, t, d):
                    return self._directional_evaluate(evaluate, x, t, d)

                loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                    obj_func, x_init, t, d, loss, flat_grad, gtd, max_ls=max_eval - current_evals
                )
                self._add_grad(t, d)
                opt_cond = np.abs(flat_grad).max() <= tolerance_grad
            else:
                self._add_grad(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = float(evaluate())
                    flat_grad = self._gather_flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break
        state.update(d=d, t=t, prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)

    @staticmethod
    def _direction(state, flat_grad, prev_flat_grad, d, t, history_size) -> np.ndarray:
        """The search direction: −gradient first, then the two-loop recursion over the kept
        (step, gradient change) pairs, which are updated here first."""
        if state["n_iter"] == 1:
            state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1)
            return -flat_grad
        old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
        y = flat_grad - prev_flat_grad
        s = d * t
        ys = y.dot(s)
        if ys > 1e-10:
            if len(old_dirs) == history_size:
                old_dirs.pop(0), old_stps.pop(0), ro.pop(0)
            old_dirs.append(y), old_stps.append(s), ro.append(1.0 / ys)
            state["H_diag"] = ys / y.dot(y)
        if "al" not in state:
            state["al"] = [None] * history_size
        al = state["al"]
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):
            al[i] = old_stps[i].dot(q) * ro[i]
            _add_scaled(q, -al[i], old_dirs[i])
        r = q * np.asarray(state["H_diag"], q.dtype)
        for i in range(len(old_dirs)):
            be_i = old_dirs[i].dot(r) * ro[i]
            _add_scaled(r, al[i] - be_i, old_stps[i])
        return r

    def load_state_dict(self, state_dict: dict) -> None:
        """As :meth:`Optimizer.load_state_dict`; the flat history (``d``, ``old_dirs``, ...),
        which has no parameter's shape, is copied as it is (torch tensors become arrays)."""
        history = {idx: dict(s) for idx, s in state_dict["state"].items()}
        super().load_state_dict({**state_dict, "state": {}})
        for idx, saved in history.items():
            p = self._params[int(idx)]
            self.state[p] = {key: _history_value(key, value, p.array.dtype)
                             for key, value in saved.items()}  # fmt: skip


def _history_value(key, value, dtype):
    if isinstance(value, list):
        return [_history_value(key, v, dtype) for v in value]
    value = _plain_state_value(key, value)
    if isinstance(value, np.ndarray):
        return np.array(value, dtype=dtype, copy=True)
    return copy.deepcopy(value)
