"""Check analytic gradients against float64 central finite differences."""

from __future__ import annotations

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.tensor import Tensor


class GradcheckError(ChainruleError, AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


class _Objective:
    """``fn`` reduced to a scalar by a fixed random projection Σ out·v, on float64 copies."""

    def __init__(self, fn, inputs, rng):
        self.fn = fn
        self.rng = rng
        tensors = [t if isinstance(t, Tensor) else Tensor(t, dtype="float64") for t in inputs]
        self.arrays = [
            np.array(t.array, dtype=np.float64) if t.array.dtype.kind == "f" else t.array
            for t in tensors
        ]
        self.wanted = [t.requires_grad for t in tensors]
        if not any(self.wanted):
            raise ValueError("gradcheck needs at least one input with requires_grad=True")
        self.projection = None

    def _run(self, arrays, with_grad):
        tensors = [Tensor._make(a, w and with_grad) for a, w in zip(arrays, self.wanted)]
        out = self.fn(*tensors)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        if self.projection is None:
            shape = out.array.shape
            self.projection = self.rng.standard_normal(shape) if shape else np.array(1.0)
        return out, tensors

    def analytic(self) -> list:
        out, tensors = self._run(self.arrays, True)
        scalar = (out * Tensor._make(self.projection.astype(out.dtype), False)).sum()
        scalar.backward()
        return [
            t.grad_array if t.grad_array is not None else np.zeros_like(t.array) for t in tensors
        ]

    def value(self, index: int, array: np.ndarray) -> float:
        arrays = [array if i == index else a for i, a in enumerate(self.arrays)]
        out, _ = self._run(arrays, False)
        return float(np.sum(out.array.astype(np.float64) * self.projection))


def compare_gradients(fn, *inputs, eps: float = 1e-6, fast: bool = False, seed: int = 0):
    """Yield ``(input_index, element, analytic, numeric)`` for every checked derivative.

    ``element`` is an index tuple, or ``"direction"`` for the random-projection mode.
    """
    rng = np.random.default_rng(seed)
    objective = _Objective(fn, inputs, rng)
    analytic = objective.analytic()
    for index, (array, want) in enumerate(zip(objective.arrays, objective.wanted)):
        if not want:
            continue
        if fast:
            direction = rng.standard_normal(array.shape)
            high = objective.value(index, array + eps * direction)
            low = objective.value(index, array - eps * direction)
            yield (
                index,
                "direction",
                float(np.sum(analytic[index] * direction)),
                ((high - low) / (2 * eps)),
            )
            continue
        for element in np.ndindex(array.shape):
            shifted = array.copy()
            shifted[element] += eps
            high = objective.value(index, shifted)
            shifted[element] -= 2 * eps
            low = objective.value(index, shifted)
            yield index, element, float(analytic[index][element]), (high - low) / (2 * eps)


def gradcheck(
    fn,
    *inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    fast: bool = False,
    seed: int = 0,
) -> bool:
    """Compare ``fn``'s backpropagated gradients with float64 central differences.

    ``fn`` maps tensors to a tensor of any shape; a non-scalar output is reduced to a scalar
    with a fixed random projection ``Σ out·v``, so every output element is checked. Each input
    that requires grad is checked element by element, or along one random direction
    (``fast=True``, for large inputs). Inputs are copied to float64 first.

    Returns ``True``; raises :class:`GradcheckError` naming the input index, the element index
    and both values at the first mismatch.

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
        >>> cr.gradcheck(lambda t: (t * t).sigmoid(), x)
        True
    """
    for index, element, expected, numeric in compare_gradients(
        fn, *inputs, eps=eps, fast=fast, seed=seed
    ):
        if not abs(expected - numeric) <= atol + rtol * abs(numeric):
            where = f"at element {element}"
            if element == "direction":
                where = "along a random direction"
            raise GradcheckError(
                f"gradcheck failed for input {index} {where}: "
                f"analytic {expected!r}, numeric {numeric!r}"
            )
    return True


def gradient_errors(fn, *inputs, eps: float = 1e-6) -> tuple[float, float]:
    """The largest absolute and relative differences between analytic and numeric gradients."""
    max_abs = max_rel = 0.0
    for _, _, expected, numeric in compare_gradients(fn, *inputs, eps=eps):
        diff = abs(expected - numeric)
        max_abs = max(max_abs, diff)
        max_rel = max(max_rel, diff / max(abs(numeric), 1e-8))
    return max_abs, max_rel


def gradgradcheck(
    fn,
    *inputs,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    seed: int = 0,
) -> bool:
    """Check second derivatives: the gradient of ``u · ∂(v · fn)/∂inputs`` (computed with
    ``autograd.grad(..., create_graph=True)``) against central differences of the first
    derivatives, for fixed random projections ``u`` and ``v``. Inputs are copied to float64.

    Returns ``True``; raises :class:`GradcheckError` at the first mismatch (see
    :func:`gradcheck`).

    Example:
        >>> import chainrule as cr
        >>> x = cr.tensor([0.5, -1.0], dtype="float64", requires_grad=True)
        >>> cr.testing.gradgradcheck(lambda t: (t * t * t).exp().sum(), x)
        True
    """
    from chainrule.autograd.grad_api import grad

    rng = np.random.default_rng(seed)
    out_shape = np.shape(fn(*inputs).array)
    v = Tensor._make(rng.standard_normal(out_shape), False)
    us = [Tensor._make(rng.standard_normal(np.shape(t.array)), False) for t in inputs]

    flags = [isinstance(t, Tensor) and t.requires_grad for t in inputs]

    def first_derivatives(*xs):
        # gradcheck's numeric passes hand in tensors without grad: the inner grad() needs it
        xs = [
            x if x.requires_grad or not f else Tensor._make(x.array, True)
            for x, f in zip(xs, flags)
        ]
        out = fn(*xs)
        wanted = [x for x in xs if x.requires_grad]
        grads = grad(
            out, wanted, grad_outputs=[v.astype(out.dtype)], create_graph=True, allow_unused=True
        )
        total = None
        for x, g in zip(wanted, grads):
            if g is None or not g.requires_grad:  # linear in x: no second derivative
                continue
            term = (g * us[[id(t) for t in xs].index(id(x))].astype(g.dtype)).sum()
            total = term if total is None else total + term
        if total is None:  # every second derivative is zero
            total = sum((x * 0).sum() for x in wanted)
        return total

    _check_graph_gradients_match_engine(fn, inputs, flags, v)
    return gradcheck(first_derivatives, *inputs, eps=eps, atol=atol, rtol=rtol, seed=seed)


def _check_graph_gradients_match_engine(fn, inputs, flags, v) -> None:
    """The first derivatives from ``create_graph=True`` must equal the engine's own."""
    from chainrule.autograd.grad_api import grad

    xs = [Tensor._make(np.array(t.array, dtype=np.float64), f) for t, f in zip(inputs, flags)]
    wanted = [x for x in xs if x.requires_grad]
    out = fn(*xs)
    seed = [v.astype(out.dtype)]
    graph = grad(out, wanted, grad_outputs=seed, create_graph=True, allow_unused=True)
    plain = grad(fn(*xs), wanted, grad_outputs=seed, allow_unused=True)
    for index, (g, p) in enumerate(zip(graph, plain)):
        if g is None or p is None:
            continue
        if not np.allclose(g.array, p.array, rtol=1e-9, atol=1e-12):
            raise GradcheckError(
                f"gradgradcheck: input {index}'s gradient with create_graph=True differs from "
                f"the engine's (max difference {np.max(np.abs(g.array - p.array)):.3g}): an "
                f"op's backward_graph disagrees with its backward"
            )
