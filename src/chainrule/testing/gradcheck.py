"""Check analytic gradients against float64 central finite differences."""

from __future__ import annotations

import numpy as np

from chainrule.errors import ChainruleError
from chainrule.tensor import Tensor


class GradcheckError(ChainruleError, AssertionError):
    """An analytic gradient disagrees with its finite-difference estimate."""


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
    rng = np.random.default_rng(seed)
    inputs = [t if isinstance(t, Tensor) else Tensor(t, dtype="float64") for t in inputs]
    arrays = [
        np.array(t.data, dtype=np.float64) if t.data.dtype.kind == "f" else t.data for t in inputs
    ]
    wanted = [t.requires_grad for t in inputs]
    if not any(wanted):
        raise ValueError("gradcheck needs at least one input with requires_grad=True")

    projection = None

    def evaluate(values, with_grad: bool):
        nonlocal projection
        tensors = [Tensor._make(v, w and with_grad) for v, w in zip(values, wanted)]
        out = fn(*tensors)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor, got {type(out).__name__}")
        if projection is None:
            projection = rng.standard_normal(out.shape) if out.data.ndim else np.array(1.0)
        return out, tensors

    out, tensors = evaluate(arrays, True)
    scalar = (out * Tensor._make(projection.astype(out.dtype), False)).sum()
    scalar.backward()
    analytic = [t.grad if t.grad is not None else np.zeros_like(t.data) for t in tensors]

    def value(values) -> float:
        result, _ = evaluate(values, False)
        return float(np.sum(result.data.astype(np.float64) * projection))

    for index, (array, want) in enumerate(zip(arrays, wanted)):
        if not want:
            continue
        if fast:
            direction = rng.standard_normal(array.shape)
            plus = [a if i != index else array + eps * direction for i, a in enumerate(arrays)]
            minus = [a if i != index else array - eps * direction for i, a in enumerate(arrays)]
            numeric = (value(plus) - value(minus)) / (2 * eps)
            expected = float(np.sum(analytic[index] * direction))
            if not abs(expected - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck failed for input {index} along a random direction: "
                    f"analytic {expected!r}, numeric {numeric!r}"
                )
            continue
        for element in np.ndindex(array.shape):
            shifted = array.copy()
            shifted[element] += eps
            high = value([shifted if i == index else a for i, a in enumerate(arrays)])
            shifted[element] -= 2 * eps
            low = value([shifted if i == index else a for i, a in enumerate(arrays)])
            numeric = (high - low) / (2 * eps)
            expected = float(analytic[index][element])
            if not abs(expected - numeric) <= atol + rtol * abs(numeric):
                raise GradcheckError(
                    f"gradcheck failed for input {index} at element {element}: "
                    f"analytic {expected!r}, numeric {numeric!r}"
                )
    return True
