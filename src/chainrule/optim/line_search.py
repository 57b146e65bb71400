"""The strong-Wolfe line search of LBFGS(line_search_fn="strong_wolfe"): PyTorch's port of
minFunc's ``lswolfe``, step for step, so the trial points are PyTorch's.

Scalars keep the type PyTorch's 0-d tensors have (NumPy scalars of the gradient's dtype, so
a float32 search rounds as PyTorch's does); Python numbers mix in as PyTorch's do.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# obj_func(x, t, d) -> (loss at x + t·d, flat gradient there); x is the parameters' copy
ObjFunc = Callable[[list, float, np.ndarray], tuple[float, np.ndarray]]


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2,
    clamped to ``bounds`` (default: between x1 and x2); their midpoint if it has none."""
    if bounds is not None:
        low, high = bounds
    else:
        low, high = (x1, x2) if x1 <= x2 else (x2, x1)
    with np.errstate(all="ignore"):  # x1 == x2 gives inf or nan, as PyTorch's tensors do
        d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
        d2_square = d1**2 - g1 * g2
        if d2_square >= 0:
            d2 = np.sqrt(d2_square)
            if x1 <= x2:
                min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
            else:
                min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
            return min(max(min_pos, low), high)
    return (low + high) / 2.0


def strong_wolfe(
    obj_func: ObjFunc, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25
):
    """A step t along d meeting the strong Wolfe conditions (sufficient decrease, c1; a
    small enough slope, c2), found in at most ``max_ls`` evaluations.

    Returns ``(loss, flat gradient, t, evaluations)`` at the chosen step.
    """
    d_norm = np.abs(d).max()
    f_new, g_new = obj_func(x, t, d)
    gtd_new = g_new.dot(d)
    search = _Search(f, gtd, c1, c2, evals=1)
    # bracket an interval holding a point that meets the conditions
    t_prev, f_prev, g_prev, gtd_prev = 0, f, g, gtd
    ls_iter = 0
    while ls_iter < max_ls:
        if f_new > search.armijo(t) or (ls_iter > 1 and f_new >= f_prev):
            search.set([t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new])
            break
        if abs(gtd_new) <= -c2 * gtd:
            search.set([t], [f_new], [g_new], None, done=True)
            break
        if gtd_new >= 0:
            search.set([t_prev, t], [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new])
            break
        # extrapolate: a cubic step, at least 1% beyond t and at most 10·t
        bounds = (t + 0.01 * (t - t_prev), t * 10)
        t_prev, t = t, cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds)
        f_prev, g_prev, gtd_prev = f_new, g_new, gtd_new
        f_new, g_new = obj_func(x, t, d)
        search.evals += 1
        gtd_new = g_new.dot(d)
        ls_iter += 1
    if ls_iter >= max_ls:  # out of evaluations (max_ls may be 0)
        search.set([0, t], [f, f_new], [g, g_new], None)
    search.zoom(obj_func, x, d, d_norm, ls_iter, max_ls, tolerance_change)
    low = search.low
    return search.f[low], search.g[low], search.bracket[low], search.evals


class _Search:
    """The bracket [t_low, t_high] with the loss, gradient and slope at each end."""

    def __init__(self, f, gtd, c1, c2, evals):
        self.f0, self.gtd0, self.c1, self.c2, self.evals = f, gtd, c1, c2, evals
        self.done = False

    def armijo(self, t):
        """The largest loss at step t that counts as a sufficient decrease."""
        return self.f0 + self.c1 * t * self.gtd0

    def set(self, bracket, f, g, gtd, done=False):
        self.bracket, self.f, self.g, self.gtd, self.done = bracket, f, g, gtd, done
        self.low, self.high = (0, 1) if f[0] <= f[-1] else (1, 0)

    def zoom(self, obj_func, x, d, d_norm, ls_iter, max_ls, tolerance_change):
        """Shrink the bracket until a point meets the conditions (or it is too small)."""
        insufficient = False
        bracket, f, g, gtd = self.bracket, self.f, self.g, self.gtd
        while not self.done and ls_iter < max_ls:
            if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
                break
            t = cubic_interpolate(bracket[0], f[0], gtd[0], bracket[1], f[1], gtd[1])
            t, insufficient = _keep_off_the_ends(t, bracket, insufficient)
            f_new, g_new = obj_func(x, t, d)
            self.evals += 1
            gtd_new = g_new.dot(d)
            ls_iter += 1
            low, high = self.low, self.high
            if f_new > self.armijo(t) or f_new >= f[low]:
                # not a sufficient decrease, or not below the low end: the new high end
                bracket[high], f[high], g[high], gtd[high] = t, f_new, g_new, gtd_new
                self.low, self.high = (0, 1) if f[0] <= f[1] else (1, 0)
                continue
            if abs(gtd_new) <= -self.c2 * self.gtd0:
                self.done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # the minimum lies beyond the low end: the old low end becomes the high one
                bracket[high], f[high], g[high], gtd[high] = bracket[low], f[low], g[low], gtd[low]
            bracket[low], f[low], g[low], gtd[low] = t, f_new, g_new, gtd_new


def _keep_off_the_ends(t, bracket, insufficient):
    """A trial step within 10% of an end of the bracket is moved to 10% inside it, when the
    previous trial was also that close or t is outside: otherwise the bracket barely shrinks.
    Returns ``(t, whether this trial was too close)``."""
    top, bottom = max(bracket), min(bracket)
    eps = 0.1 * (top - bottom)
    if not min(top - t, t - bottom) < eps:  # (not ``>=``: a NaN t is left as it is)
        return t, False
    if insufficient or t >= top or t <= bottom:
        t = top - eps if abs(t - top) < abs(t - bottom) else bottom + eps
        return t, False
    return t, True
