"""More of PyTorch's activations: PReLU (a learned slope), Mish, the hard ones (hardswish,
hardsigmoid), softsign, tanhshrink and threshold, each forward and local derivative side by
side; GLU and softmin are compositions of existing ops. The gradients follow PyTorch's rules at
the kinks (which side owns the boundary), so they match ``torch`` to the last bit of the rule.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import ShapeError
from chainrule.ops._util import float_operand as _float_operand
from chainrule.ops._util import operand
from chainrule.ops.activation import _exp_neg_abs, _sigmoid_core
from chainrule.ops.elementwise import Mul
from chainrule.ops.log1p_expm1 import log1p_unit
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor


def _constant(array: np.ndarray) -> Tensor:
    return Tensor._make(array, False)


def _where(mask: np.ndarray, a, b) -> Tensor:
    from chainrule.ops.elementwise import where

    return where(_constant(mask), a, b)


class PReLU(Function):
    """a if a > 0 else b·a, with a learned slope b (one, or one per channel).

    Local derivatives: ∂/∂a = 1 if a > 0 else b;  ∂/∂b = 0 if a > 0 else a (summed over every
    position that shares the slope). The letters are the explainer's: a the input, b the slope.
    """

    label = "prelu"
    definition = "prelu(a) = a if a > 0 else b·a, b the learned slope"
    formulas = ("1 if a > 0 else b", "0 if a > 0 else a (summed over the positions sharing b)")

    def forward(self, z, slope):
        self.z, self.slope = z, slope
        self.positive = z > 0
        return np.where(self.positive, z, slope * z)

    def backward(self, grad):
        grad_z = grad_a = None
        if self.needs_grad[0]:
            grad_z = grad * np.where(self.positive, np.ones_like(self.slope), self.slope)
        if self.needs_grad[1]:
            grad_a = grad * np.where(self.positive, 0, self.z)
        return grad_z, grad_a

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        # The values are backward's (at z = 0: b for the input, 0 for the slope); the cross
        # derivatives ∂²/∂a∂b are PyTorch's, which count only z < 0 (or NaN): at z = 0 both
        # values enter as constants, so the cross terms are 0 there, as in PyTorch
        z, slope = self.parents
        below = np.logical_not(self.z >= 0)
        grad_z = grad_a = None
        if self.needs_grad[0]:
            local = np.where(self.positive, np.ones_like(self.slope), self.slope)
            name = "PreluKernelBackwardBackward0"
            grad_z = tie(grad * _where(below, slope, _constant(local)), z, name=name)
        if self.needs_grad[1]:
            grad_a = grad * _where(below, z, _constant(np.where(self.positive, 0, self.z)))
            grad_a = tie(grad_a, slope)  # PyTorch's: its derivative by the slope is zeros
        return grad_z, grad_a


class Mish(Function):
    """z·tanh(softplus(z)).  Local derivative: t + z·(1 − t²)·σ(z), t = tanh(softplus(z))."""

    label = "mish"
    definition = "mish(z) = z·tanh(ln(1 + e^z))"
    formulas = ("t + z·(1 − t²)·σ(z), t = tanh(softplus(z))",)

    def forward(self, z):
        # softplus = max(z, 0) + ln(1 + e^(−|z|)): no exponential of a large number
        soft = np.maximum(z, 0) + log1p_unit(_exp_neg_abs(z))
        self.z, self.t = z, np.tanh(soft)
        return z * self.t

    def backward(self, grad):
        sig = _sigmoid_core(self.z)[0]
        return (grad * (self.t + self.z * (1 - self.t * self.t) * sig),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.activation import softplus

        (z,) = self.parents
        t = softplus(z).tanh()
        return (grad * (t + z * (1 - t * t) * z.sigmoid()),)


class Hardswish(Function):
    """z·relu6(z + 3)/6: 0 for z ≤ −3, z for z ≥ 3, z·(z + 3)/6 between.

    Local derivative (PyTorch's): 0 for z ≤ −3, z/3 + 1/2 for −3 < z < 3, 1 for z ≥ 3.
    """

    label = "hardswish"
    definition = "hardswish(z) = z·min(max(z + 3, 0), 6)/6"
    formulas = ("0 if z ≤ −3, z/3 + 1/2 if z < 3, else 1",)

    def forward(self, z):
        self.z = z
        return z * np.minimum(np.maximum(z + 3, 0), 6) / 6

    def _local(self):
        z = self.z
        return np.where(z <= -3, 0, np.where(z < 3, z / 3 + 0.5, 1)).astype(z.dtype)

    def backward(self, grad):
        return (grad * self._local(),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        inside = (self.z > -3) & (self.z < 3)
        return (grad * _where(inside, z / 3 + 0.5, _constant(self._local())),)


_ONE_SIXTH = np.float32(1.0) / np.float32(6.0)


class Hardsigmoid(Function):
    """relu6(z + 3)/6.  Local derivative: 1/6 for −3 < z < 3, else 0 (PyTorch's)."""

    label = "hardsigmoid"
    definition = "hardsigmoid(z) = min(max(z + 3, 0), 6)/6"
    formulas = ("1/6 if −3 < z < 3 else 0",)

    def forward(self, z):
        self.inside = (z > -3) & (z < 3)
        return np.minimum(np.maximum(z + 3, 0), 6) / np.asarray(6, z.dtype)

    def _local(self, dtype) -> np.ndarray:
        # PyTorch's kernel takes 1/6 in float32 (1.0f / 6.0f) for every dtype, float64 too
        return (self.inside * _ONE_SIXTH).astype(dtype)

    def backward(self, grad):
        return (grad * self._local(grad.dtype),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        local = _constant(self._local(grad.array.dtype))
        return (tie(grad * local, self.parents[0], name="HardsigmoidBackwardBackward0"),)


class Softsign(Function):
    """z / (1 + |z|).  Local derivative: 1 / (1 + |z|)²."""

    label = "softsign"
    definition = "softsign(z) = z/(1 + |z|)"
    formulas = ("1/(1 + |z|)²",)

    def forward(self, z):
        self.denominator = 1 + np.abs(z)
        return z / self.denominator

    def backward(self, grad):
        return (grad / (self.denominator * self.denominator),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        d = 1 + z.abs()
        return (grad / (d * d),)


class Tanhshrink(Function):
    """z − tanh(z).  Local derivative: tanh²(z)."""

    label = "tanhshrink"
    definition = "tanhshrink(z) = z − tanh(z)"
    formulas = ("tanh²(z)",)

    def forward(self, z):
        self.t = np.tanh(z)
        return z - self.t

    def backward(self, grad):
        return (grad * (self.t * self.t),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        t = z.tanh()
        return (grad * (t * t),)


class Threshold(Function):
    """z if z > threshold else value.  Local derivative: 1 if z > threshold else 0 (NaN
    passes, as in PyTorch)."""

    label = "threshold"
    definition = "threshold(z) = z if z > threshold else value"
    formulas = ("1 if z > threshold else 0",)

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation."""
        return f"threshold = {float(self.threshold):g}, value = {float(self.value):g}"

    def forward(self, z, threshold, value):
        self.threshold, self.value = threshold, value
        self.replaced = z <= threshold
        return np.where(self.replaced, z.dtype.type(value), z)

    def backward(self, grad):
        return (np.where(self.replaced, 0, grad).astype(grad.dtype),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        mask = _constant(np.logical_not(self.replaced).astype(grad.array.dtype))
        return (tie(grad * mask, self.parents[0], name="ThresholdBackwardBackward0"),)


# ---- functions (PyTorch's F.* signatures) -----------------------------------------------------
def prelu(input, weight) -> Tensor:
    """max(0, x) + weight·min(0, x), as ``torch.nn.functional.prelu``: ``weight`` holds one slope,
    or one per channel (dimension 1 of ``x``, as PyTorch; an input of fewer than 2 dimensions
    has one channel).

    Shape:
        x (*), weight (), (1,) or (C,) with C = x.shape[1] → x's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.prelu(cr.tensor([-2.0, 3.0]), cr.tensor([0.25])).tolist()
        [-0.5, 3.0]
    """
    input, weight = _float_operand(input, "prelu"), _float_operand(weight, "prelu")
    if weight.ndim > 1:
        raise ShapeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.ndim}"
        )
    count = int(np.prod(weight.shape))
    if count != 1:
        channels = input.shape[1] if input.ndim >= 2 else 1  # PyTorch's channel dimension
        if count != channels:
            raise ShapeError(
                f"prelu: Mismatch of parameter numbers and input channel size. Found parameter "
                f"numbers = {count} and channel size = {channels}."
            )
        weight = weight.reshape(count, *([1] * (input.ndim - 2)))
    elif weight.ndim == 1 and input.ndim == 0:
        weight = weight.reshape(())  # the output keeps the scalar's shape
    return PReLU.apply(input, weight)


def mish(x) -> Tensor:
    """x·tanh(softplus(x)), as ``torch.nn.functional.mish``.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.mish(cr.tensor([0.0])).tolist()
        [0.0]
    """
    return Mish.apply(_float_operand(x, "mish"))


def hardswish(x) -> Tensor:
    """x·relu6(x + 3)/6, as ``torch.nn.functional.hardswish`` (MobileNetV3's activation)."""
    return Hardswish.apply(_float_operand(x, "hardswish"))


def hardsigmoid(x) -> Tensor:
    """relu6(x + 3)/6, as ``torch.nn.functional.hardsigmoid``."""
    return Hardsigmoid.apply(_float_operand(x, "hardsigmoid"))


def softsign(input) -> Tensor:
    """x / (1 + |x|), as ``torch.nn.functional.softsign``."""
    return Softsign.apply(_float_operand(input, "softsign"))


def tanhshrink(input) -> Tensor:
    """x − tanh(x), as ``torch.nn.functional.tanhshrink``."""
    return Tanhshrink.apply(_float_operand(input, "tanhshrink"))


def threshold(x, threshold: float, value: float) -> Tensor:
    """x where x > ``threshold``, else ``value``, as ``torch.nn.functional.threshold``."""
    return Threshold.apply(
        _float_operand(x, "threshold"), threshold=float(threshold), value=float(value)
    )


def glu(input, dim: int = -1) -> Tensor:
    """Gated linear unit a·σ(b), where a and b are the two halves of ``x`` along ``dim``, as
    ``torch.nn.functional.glu``.

    Shape:
        (*, 2M, *) → (*, M, *).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.glu(cr.tensor([[2.0, 0.0]])).tolist()
        [[1.0]]
    """
    input = _float_operand(input, "glu")
    if input.ndim == 0:
        raise ShapeError("glu does not support scalars because halving size must be even")
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
        raise TypeError(f"glu: dim must be an integer, got {dim!r}")
    if not -input.ndim <= dim < input.ndim:
        raise IndexError(
            f"glu: dim {dim} is out of range for a {input.ndim}-D input "
            f"(expected in [{-input.ndim}, {input.ndim - 1}])"
        )
    dim %= input.ndim
    size = input.shape[dim]
    if size % 2:
        raise ShapeError(f"Halving dimension must be even, but dimension {dim} is size {size}")
    before = (slice(None),) * dim
    half = size // 2
    gate = input[(*before, slice(half, size))].sigmoid()
    # (PyTorch's name: GluBackward0)
    return GluProduct.apply(input[(*before, slice(0, half))], gate)


class GluProduct(Mul):
    """glu's a·σ(b): a product, named as PyTorch's one ``GluBackward0`` node."""


def softmin(input, dim: int | None = None, _stacklevel: int = 3, dtype=None) -> Tensor:
    """softmax(−x) along ``dim``, as ``torch.nn.functional.softmin`` (no ``dim``: PyTorch's
    implicit choice and its deprecation warning)."""
    from chainrule.ops.softmax import _softmax_dim, softmax

    input = operand(input)
    return softmax(-input, dtype=dtype, dim=_softmax_dim(dim, input, "softmin"))
