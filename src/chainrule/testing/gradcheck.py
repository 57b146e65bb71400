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
