"""PyTorch's remaining pointwise activations: CELU and SELU (the ELU with an input scale and an
output scale), the randomized leaky ReLU (RReLU) and the two shrinkage functions (Hardshrink,
Softshrink), each forward and local derivative side by side.

The boundaries follow PyTorch's kernels: z ≤ 0 takes the exponential branch (NaN the linear
one), the shrinkages zero the closed interval [−λ, λ] and give it a zero gradient, and the
second derivative of the ELU family is 0 at z = 0, as PyTorch's double backward.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.compile_hooks import per_call
from chainrule.autograd.function import Function
from chainrule.errors import ArgumentError
from chainrule.ops._util import float_operand as _float_operand
from chainrule.ops.activation import leaky_relu
from chainrule.ops.log1p_expm1 import expm1_and_exp
from chainrule.ops.piecewise_link import tie
from chainrule.random import Generator, get_generator
from chainrule.tensor import Tensor

#: SELU's constants (Klambauer et al., 2017), as PyTorch's.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _constant(array: np.ndarray) -> Tensor:
    return Tensor._make(array, False)


class _ScaledELU(Function):
    """PyTorch's general ELU: scale·z if z > 0 else scale·α·(e^(s·z) − 1), s the input scale.

    Local derivative: scale if z > 0 else scale·α·s·e^(s·z).
    """

    def forward(self, z, alpha, scale, input_scale):
        kind = z.dtype.type
        self.alpha = alpha
        self.pos, self.neg, self.inner = kind(scale), kind(alpha * scale), kind(input_scale)
        self.positive = np.logical_not(z <= 0)  # NaN takes the linear branch, as PyTorch
        # the exponential of min(z, 0) only: the branch z > 0 never overflows
        # (zero first: minimum returns its second argument on a tie, so −0 stays −0)
        inner = np.minimum(z.dtype.type(0), z) * self.inner
        with np.errstate(over="ignore", under="ignore"):
            if self.inner > 0:  # inner ≤ 0: the shared fast pair (ELU's)
                curved, self.exp = expm1_and_exp(inner)
            else:  # CELU with α < 0
                curved, self.exp = np.expm1(inner), np.exp(inner)
        curved *= self.neg
        return np.where(self.positive, z * self.pos, curved)

    def _local(self) -> np.ndarray:
        return np.where(self.positive, self.pos, self.neg * self.inner * self.exp)

    def backward(self, grad):
        return (grad * self._local(),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.elementwise import exp, where

        (z,) = self.parents
        # PyTorch's second derivative is 0 at z = 0, where the first is scale·α·s
        slope = float(self.neg * self.inner)
        negative = _constant(z.array < 0)
        # e^(s·z) of the negative z only: a large positive z would overflow, and its gradient
        # through the branch not taken would be 0·∞ = NaN
        curved = where(negative, exp(where(negative, z, 0.0) * float(self.inner)) * slope, slope)
        return (grad * where(_constant(self.positive), float(self.pos), curved),)


class CELU(_ScaledELU):
    """z if z > 0 else α·(e^(z/α) − 1).  Local derivative: 1 if z > 0 else e^(z/α)."""

    label = "celu"
    definition = "celu(z) = z if z > 0 else α·(e^(z/α) − 1)"
    formulas = ("1 if z > 0 else e^(z/α)",)

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation."""
        return f"α = {float(self.alpha):g}"


class SELU(_ScaledELU):
    """λ·z if z > 0 else λ·α·(e^z − 1), λ ≈ 1.0507 and α ≈ 1.6733.

    Local derivative: λ if z > 0 else λ·α·e^z.
    """

    label = "selu"
    definition = "selu(z) = λ·z if z > 0 else λ·α·(e^z − 1), λ ≈ 1.0507, α ≈ 1.6733"
    formulas = ("λ if z > 0 else λ·α·e^z",)

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation."""
        return f"λ = {SELU_SCALE:.10g}, α = {SELU_ALPHA:.10g}"


class _Shrink(Function):
    """Shared by the shrinkages: zero on [−λ, λ], where the gradient is 0 too."""

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation."""
        return f"λ = {float(self.lambd):g}"

    def backward(self, grad):
        return (np.where(self.zeroed, grad.dtype.type(0), grad),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        mask = _constant(np.logical_not(self.zeroed).astype(grad.array.dtype))
        name = f"{type(self).__name__}BackwardBackward0"  # Hardshrink…, Softshrink…
        return (tie(grad * mask, self.parents[0], name=name),)


class Hardshrink(_Shrink):
    """z if |z| > λ else 0.  Local derivative: 1 if |z| > λ else 0 (NaN passes)."""

    label = "hardshrink"
    definition = "hardshrink(z) = z if |z| > λ else 0"
    formulas = ("1 if |z| > λ else 0",)

    def forward(self, z, lambd):
        self.lambd = lambd = z.dtype.type(lambd)
        self.zeroed = (z >= -lambd) & (z <= lambd)
        return np.where(self.zeroed, z.dtype.type(0), z)


class Softshrink(_Shrink):
    """z − λ if z > λ, z + λ if z < −λ, else 0.  Local derivative: 1 if |z| > λ else 0."""

    label = "softshrink"
    definition = "softshrink(z) = z − λ if z > λ, z + λ if z < −λ, else 0"
    formulas = ("1 if |z| > λ else 0",)

    def forward(self, z, lambd):
        self.lambd = lambd = z.dtype.type(lambd)
        self.zeroed = (z >= -lambd) & (z <= lambd)
        inside = np.where(self.zeroed, z.dtype.type(0), z)  # NaN stays NaN
        return np.where(z > lambd, z - lambd, np.where(z < -lambd, z + lambd, inside))


class RReLU(Function):
    """z if z > 0 else r·z, r drawn uniformly from [lower, upper] for each element (training).

    Local derivative: 1 if z > 0 else r (the slope drawn in the forward pass).
    """

    label = "rrelu"
    definition = "rrelu(z) = z if z > 0 else r·z, r ~ U(lower, upper) per element"
    formulas = ("1 if z > 0 else r",)

    def forward(self, z, slopes):
        # PyTorch's noise tensor: the drawn slope where z ≤ 0, else 1 (NaN counts as positive)
        self.noise = np.where(z <= 0, slopes, z.dtype.type(1))
        return z * self.noise

    def backward(self, grad):
        return (grad * self.noise, None)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        name = "RreluWithNoiseBackwardBackward0"
        return (tie(grad * _constant(self.noise), self.parents[0], name=name), None)


# ---- functions (PyTorch's F.* signatures; ``inplace`` is added in nn/functional.py) -----------
def celu(input, alpha: float = 1.0) -> Tensor:  # noqa: A002 - PyTorch's name
    """max(0, x) + min(0, α·(e^(x/α) − 1)), as ``torch.nn.functional.celu``.

    Args:
        input: floating-point tensor or array.
        alpha: the α of the formula; not 0.

    Example:
        >>> import chainrule as cr
        >>> round(cr.nn.functional.celu(cr.tensor([-1.0]), 2.0).item(), 4)
        -0.7869
    """
    input = _float_operand(input, "celu")
    if alpha == 0:
        raise ArgumentError("celu: alpha cannot be 0 (ZeroDivisionError: x/alpha), as PyTorch's")
    return CELU.apply(input, alpha=alpha, scale=1.0, input_scale=1.0 / alpha)


def selu(input) -> Tensor:  # noqa: A002 - PyTorch's name
    """λ·(max(0, x) + min(0, α·(eˣ − 1))) with λ ≈ 1.0507 and α ≈ 1.6733, as
    ``torch.nn.functional.selu`` (self-normalising networks).

    Example:
        >>> import chainrule as cr
        >>> round(cr.nn.functional.selu(cr.tensor([1.0])).item(), 4)
        1.0507
    """
    input = _float_operand(input, "selu")
    return SELU.apply(input, alpha=SELU_ALPHA, scale=SELU_SCALE, input_scale=1.0)


def hardshrink(input, lambd: float = 0.5) -> Tensor:  # noqa: A002 - PyTorch's name
    """x where |x| > λ, else 0, as ``torch.nn.functional.hardshrink``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.hardshrink(cr.tensor([-1.0, 0.25, 2.0])).tolist()
        [-1.0, 0.0, 2.0]
    """
    return Hardshrink.apply(_float_operand(input, "hardshrink"), lambd=_number(lambd, "hardshrink"))


def softshrink(input, lambd: float = 0.5) -> Tensor:  # noqa: A002 - PyTorch's name
    """x − λ above λ, x + λ below −λ, else 0, as ``torch.nn.functional.softshrink``; λ must
    lie in [0, the dtype's largest value].

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.softshrink(cr.tensor([-1.0, 0.25, 2.0])).tolist()
        [-0.5, 0.0, 1.5]
    """
    input = _float_operand(input, "softshrink")
    lambd = _number(lambd, "softshrink")
    largest = float(np.finfo(input.array.dtype).max)
    if not 0 <= lambd <= largest:
        raise ArgumentError(
            f"softshrink: lambda must be in range [0, {largest:g}] for input dtype "
            f"{input.array.dtype}, but found {lambd}"
        )
    return Softshrink.apply(input, lambd=lambd)


def rrelu(
    input,  # noqa: A002 - PyTorch's name
    lower: float = 1.0 / 8,
    upper: float = 1.0 / 3,
    training: bool = False,
    *,
    generator: Generator | None = None,
) -> Tensor:
    """Randomized leaky ReLU, as ``torch.nn.functional.rrelu``: x where x > 0, else r·x.

    In training each element ≤ 0 gets its own slope r drawn uniformly from [lower, upper]
    (from ``generator``, by default the global one that ``cr.manual_seed`` seeds), and the
    gradient there is that r; otherwise r is the fixed (lower + upper)/2 (a leaky ReLU).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.rrelu(cr.tensor([-1.0, 2.0]), 0.25, 0.25).tolist()
        [-0.25, 2.0]
    """
    input = _float_operand(input, "rrelu")
    lower, upper = _number(lower, "rrelu"), _number(upper, "rrelu")
    if not lower <= upper:
        raise ArgumentError(
            f"rrelu: Lower bound should be less than or equal to the upper bound, got "
            f"lower={lower}, upper={upper}"
        )
    if not training:
        return leaky_relu(input, (lower + upper) / 2)
    # drawn through per_call, so that a compiled step draws new slopes on every call
    slopes = per_call(uniform_slopes, generator, input.shape, lower, upper, input.array.dtype)
    return RReLU.apply(input, _constant(slopes))


def uniform_slopes(generator, shape: tuple, lower: float, upper: float, dtype) -> np.ndarray:
    """One slope per element, uniform on [lower, upper], in ``dtype``."""
    return get_generator(generator).uniform(lower, upper, shape).astype(dtype, copy=False)


def _number(value, op: str) -> float:
    if isinstance(value, Tensor):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{op}: expected a number, got {type(value).__name__} {value!r}")
    return float(value)
