"""Local response normalisation (AlexNet's): each value divided by a power of the energy of its
neighbouring channels. ``nn.LocalResponseNorm`` and ``F.local_response_norm``.

Built as PyTorch builds it, from ops that have their own derivatives (square, zero padding along
the channels, a (size × 1) average pool, power, divide), so first and second-order gradients
come from the engine and the values match PyTorch's order of operations.
"""

from __future__ import annotations

import math

from chainrule.errors import ShapeError
from chainrule.nn._util import as_input, check_size
from chainrule.nn.module import Module
from chainrule.ops.indexing import pad
from chainrule.ops.pooling import avg_pool2d
from chainrule.tensor import Tensor

__all__ = ["LocalResponseNorm", "local_response_norm"]


def _check_number(value, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"local_response_norm: {name} must be a finite number, got {value!r}")


def local_response_norm(
    input,  # noqa: A002 - PyTorch's name
    size: int,
    alpha: float = 1e-4,
    beta: float = 0.75,
    k: float = 1.0,
) -> Tensor:
    """PyTorch's ``F.local_response_norm``: b_c = a_c / (k + α/n · Σ a_j²)^β, the sum over the
    ``size`` (n) channels j from c − ⌊n/2⌋ to c + ⌊(n − 1)/2⌋ (zeros past the edges).

    Shape: (N, C, *) with at least one dimension after C → same.

    Example:
        >>> import chainrule as cr
        >>> y = cr.nn.functional.local_response_norm(cr.ones(1, 3, 1), size=2, alpha=1.0, k=1.0)
        >>> [round(v, 4) for v in y.numpy().reshape(-1).tolist()]
        [0.7378, 0.5946, 0.5946]
    """
    size = check_size(size, "size", "local_response_norm", 1)
    for name, value in (("alpha", alpha), ("beta", beta), ("k", k)):
        _check_number(value, name)
    x = as_input(input, None, "local_response_norm")
    if x.ndim < 3:
        raise ShapeError(
            f"local_response_norm: expected 3D or higher dimensionality input (N, C, *), got "
            f"{x.ndim} dimensions (shape {x.shape})"
        )
    if x.array.size == 0:
        return x
    n, c = x.shape[:2]
    squares = (x * x).reshape(n, 1, c, x.array.size // (n * c))
    squares = pad(squares, (0, 0, size // 2, (size - 1) // 2))  # along the channels
    energy = avg_pool2d(squares, (size, 1), stride=1).reshape(x.shape)
    return x / (energy * alpha + k) ** beta


class LocalResponseNorm(Module):
    """Divide each value by a power of the energy of its ``size`` neighbouring channels:
    b_c = a_c / (k + α/n · Σ a_j²)^β (see :func:`local_response_norm`). No parameters.

    Args:
        size: n, how many neighbouring channels (the channel itself included) to sum over.
        alpha: α, the multiplier of the mean square.
        beta: β, the exponent.
        k: the additive constant.

    Shape: (N, C, *) with at least one dimension after C → same.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.LocalResponseNorm(2)(cr.ones(4, 6, 5, 5)).shape
        (4, 6, 5, 5)
    """

    def __init__(self, size: int, alpha: float = 1e-4, beta: float = 0.75, k: float = 1.0):
        super().__init__()
        self.size = check_size(size, "size", "LocalResponseNorm", 1)
        for name, value in (("alpha", alpha), ("beta", beta), ("k", k)):
            _check_number(value, name)
        self.alpha, self.beta, self.k = alpha, beta, k  # kept as given, as PyTorch's repr shows

    def forward(self, x):
        return local_response_norm(x, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self) -> str:
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"

    def _config(self) -> dict:
        return {"size": self.size, "alpha": self.alpha, "beta": self.beta, "k": self.k}
