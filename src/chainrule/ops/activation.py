"""Activation functions, each stable for large |x| (no overflow warnings, no NaN).

Every derivative is written in terms of values the forward pass already computed (``self.out``
or the saved ``e^(−|z|)``), which is both cheaper and more accurate than recomputing it.
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.errors import DTypeError
from chainrule.ops._util import ONE, ZERO, floating, operand
from chainrule.ops._util import float_operand as _float_operand
from chainrule.ops.piecewise_link import tie
from chainrule.tensor import Tensor

# Up to this many elements Sigmoid takes its formula with the fewest NumPy calls (measured: the
# 1×16 forward + backward 6.8 µs, against 8.5 µs for the fewest passes over memory)
_SMALL = 256
# From this many elements ReLU takes max(z, zeros) rather than max(z, 0) (measured crossover:
# about 1,500 float32 elements; 4,096: 1.67 against 2.27 µs)
_RELU_FILL_MIN = 2048


_ZEROS: dict = {}  # read-only arrays of zeros by (shape, dtype), for in-place ReLU


def _zeros(shape: tuple, dtype) -> np.ndarray:
    key = (shape, dtype)
    zeros = _ZEROS.get(key)
    if zeros is None:
        if len(_ZEROS) >= 32:  # a compiled step has few shapes; bound it anyway
            _ZEROS.clear()
        zeros = np.zeros(shape, dtype)
        zeros.flags.writeable = False
        _ZEROS[key] = zeros
    return zeros


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)) without overflow (see :func:`_sigmoid_core`)."""
    return _sigmoid_core(z)[0]


def _sigmoid_parts(z: np.ndarray):
    """σ(z) and e = e^(−|z|), from which σ(−z) and σ(z)·σ(−z) follow without cancellation."""
    sig, e, _ = _sigmoid_core(z)
    return sig, e


def _exp_neg_abs(z: np.ndarray) -> np.ndarray:
    """e^(−|z|) in a fresh array of z's shape (0-d too): never above 1, so never overflows."""
    e = np.abs(z, out=np.empty_like(z))
    np.negative(e, out=e)
    return np.exp(e, out=e)


def _sigmoid_core(z: np.ndarray):
    """σ(z), e = e^(−|z|) and r = σ(|z|) = 1/(1 + e), each in its own array.

    σ(z) = r for z ≥ 0 and e·r for z < 0, chosen without ``np.where`` (six times a multiply's
    time): q = max([z ≥ 0], e) is 1 or e, and σ = q·r. Nothing overflows, σ(−z) = e·r keeps
    its relative accuracy far out, and σ(z)·σ(−z) = e·r² needs no 1 − σ. NaN stays NaN.
    """
    e = _exp_neg_abs(z)
    r = np.add(e, ONE, out=np.empty_like(z))
    np.divide(ONE, r, out=r)
    sig = np.greater_equal(z, ZERO, out=np.empty_like(z))
    np.maximum(sig, e, out=sig)
    sig *= r
    return sig, e, r


def _grad_times_sigmoid(grad, z, e, negate: bool = False) -> np.ndarray:
    """grad·σ(z) (or grad·σ(−z) with ``negate``) from the saved e = e^(−|z|), the way
    :func:`_sigmoid_core` builds σ: max([z ≥ 0], e)·1/(1 + e) (for σ(−z): [z < 0])."""
    local = np.add(e, ONE)
    local = np.divide(grad, local)
    compare = np.less if negate else np.greater_equal
    q = compare(z, ZERO, out=np.empty_like(z))
    np.maximum(q, e, out=q)
    local *= q
    return local


# ---- the core three -------------------------------------------------------------------------
class Sigmoid(Function):
    """σ(z) = 1 / (1 + e^(−z)).  Local derivative: σ(z)·(1 − σ(z))."""

    label = "σ"
    definition = "σ(z) = 1/(1 + e^(−z))"
    formulas = ("σ(z)·(1 − σ(z))",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only
    grads_match_inputs = True
    backward_writes_over_grad = True  # backward_in_place below

    def forward(self, z):
        if z.size <= _SMALL:
            # Few elements: fewer NumPy calls beat fewer passes (e^min(z, 0)/(1 + e), 6 calls)
            e = np.exp(np.negative(np.abs(z)))
            self.out, self.e, self.r = np.divide(np.exp(np.minimum(z, ZERO)), e + ONE), e, None
            return self.out
        self.out, self.e, self.r = _sigmoid_core(z)
        return self.out

    def backward(self, grad):
        # σ(z)·(1 − σ(z)) = e/(1 + e)² = e·r² with e = e^(−|z|): no 1 − σ cancellation.
        if self.r is None:
            s = np.add(self.e, ONE)
            return (np.multiply(grad, np.divide(self.e, np.multiply(s, s))),)
        grad_z = np.multiply(grad, self.r)
        grad_z *= self.r
        grad_z *= self.e
        return (grad_z,)

    def backward_in_place(self, grad):
        """``backward`` written over ``grad`` (cr.compile, where grad is the step's own)."""
        if self.r is None:
            return self.backward(grad)
        np.multiply(grad, self.r, out=grad)
        grad *= self.r
        grad *= self.e
        return (grad,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        s = sigmoid(z)
        return (grad * s * (1 - s),)


class Tanh(Function):
    """tanh(z).  Local derivative: 1 − tanh(z)²."""

    label = "tanh"
    definition = "tanh(z) = (e^z − e^(−z))/(e^z + e^(−z))"
    formulas = ("1 − tanh(z)²",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only
    grads_match_inputs = True
    backward_writes_over_grad = True  # backward_in_place below

    def forward(self, z):
        self.out = np.tanh(z)
        return self.out

    def backward(self, grad):
        out = self.out
        return (np.multiply(grad, np.subtract(ONE, np.multiply(out, out))),)

    # cr.compile's NumPy tier, where the array is the step's own (see ReLU): same values
    def forward_in_place(self, z):
        self.out = np.tanh(z, out=z)
        return self.out

    def backward_in_place(self, grad):
        local = np.multiply(self.out, self.out)
        np.subtract(ONE, local, out=local)
        return (np.multiply(grad, local, out=grad),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        t = tanh(z)
        return (grad * (1 - t * t),)


class ReLU(Function):
    """max(z, 0).  Local derivative: 1 if z > 0 else 0."""

    label = "relu"
    definition = "relu(z) = max(z, 0)"
    formulas = ("1 if z > 0 else 0",)
    inputs_read_for = {"x": (0, None)}  # backward reads the saved output only
    grads_match_inputs = True
    backward_writes_over_grad = True  # backward_in_place below

    def forward(self, z):
        # max(0, z) in this order keeps z where it equals 0, so −0 stays −0 (PyTorch's), and NaN
        # stays NaN
        if z.size < _RELU_FILL_MIN:
            self.out = np.maximum(ZERO, z)
            return self.out
        # NumPy's maximum against a scalar runs about half as fast as against an array (12.8
        # against 6.0 µs on 128×256 float32, fill included): fill the output with 0 and take
        # max(out, z) into it.
        out = np.empty_like(z)
        out.fill(0)
        self.out = np.maximum(out, z, out=out)
        return self.out

    def backward(self, grad):
        # PyTorch passes the gradient where not (z ≤ 0): where out ≠ 0, NaN included
        return (np.multiply(grad, np.not_equal(self.out, ZERO)),)

    # cr.compile's NumPy tier calls these where the graph proves the array is the step's own
    # and read by nothing else (autograd/compile_reuse.py): the same values, written over it
    # as hand-written NumPy does (measured on 128×256 float32, cache-cold: forward 6.0 against
    # 14.7 µs, backward 30.9 against 39.5 µs)
    def forward_in_place(self, z):
        self.out = np.maximum(_zeros(z.shape, z.dtype), z, out=z)
        return self.out

    def backward_in_place(self, grad):
        return (np.multiply(grad, np.not_equal(self.out, ZERO), out=grad),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (z,) = self.parents
        # backward's mask (out ≠ 0: NaN passes, as PyTorch's), where z > 0 had blocked NaN
        mask = Tensor._make(np.not_equal(self.out, ZERO).astype(z.array.dtype), False)
        # tied to z with zeros that are tied again: PyTorch's relu reads its output, so its
        # zeros pass through relu's backward once more and a third derivative is defined
        return (tie(grad * mask, z, relink=True, name="ThresholdBackwardBackward0"),)


# ---- the rest of the family -----------------------------------------------------------------
class LeakyReLU(Function):
    """z if z > 0 else a·z.  Local derivative: 1 if z > 0 else a."""

    label = "leaky_relu"
    definition = "leaky_relu(z) = z if z > 0 else a·z"
    formulas = ("1 if z > 0 else a",)

    def forward(self, z, negative_slope):
        self.negative_slope = negative_slope
        slope = z.dtype.type(negative_slope)
        if 0 <= negative_slope <= 1:
            # The local derivative [z > 0]·(1 − a) + a is exactly 1 or a for 0 ≤ a ≤ 1 (the
            # rounding of 1 − a cancels when a is added back), and out = z·local is z or a·z:
            # four passes, no np.where (six times a multiply's time) and no scalar maximum
            self.local = np.greater(z, ZERO, out=np.empty_like(z))
            self.local *= 1 - slope
            self.local += slope
            return np.multiply(z, self.local)
        positive = z > 0
        self.local = np.where(positive, z.dtype.type(1), slope)
        return np.where(positive, z, np.multiply(z, slope))

    def backward(self, grad):
        return (np.multiply(grad, self.local),)

    def explained_constants(self) -> str:
        """The constants its formula names, for an explanation (read by ``chainrule.explain``
        only: a reader checking a printed factor needs them)."""
        return f"a = {float(self.negative_slope):g}"

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        # the local derivative, saved; tied to z (its own derivative is 0, as PyTorch's)
        local = Tensor._make(self.local, False)
        return (tie(grad * local, self.parents[0], name="LeakyReluBackwardBackward0"),)


# ---- functions ------------------------------------------------------------------------------
def sigmoid(input) -> Tensor:
    """Logistic function σ(x) = 1 / (1 + e^(−x)), elementwise and stable for any finite x.

    Args:
        input: input tensor or array.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.sigmoid(cr.tensor([0.0])).tolist()
        [0.5]
    """
    if input.__class__ is not Tensor or input.array.dtype.kind != "f":
        input = floating(input)
    return Sigmoid.apply(input)


def tanh(input) -> Tensor:
    """Hyperbolic tangent, elementwise.

    Args:
        input: input tensor or array.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.tanh(cr.tensor([0.0])).tolist()
        [0.0]
    """
    if input.__class__ is not Tensor or input.array.dtype.kind != "f":
        input = floating(input)
    return Tanh.apply(input)


def relu(x) -> Tensor:
    """Rectified linear unit max(x, 0), elementwise.

    Args:
        x: input tensor or array.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.relu(cr.tensor([-1.0, 2.0])).tolist()
        [0.0, 2.0]
    """
    x = x if isinstance(x, Tensor) else operand(x)
    if x.array.dtype.kind != "f":
        if x.array.dtype == np.bool_:
            raise DTypeError("relu of a bool tensor is not defined (as in PyTorch); convert first")
        # integers keep their dtype (NumPy would promote uint8 against a float zero)
        return Tensor._make(np.maximum(x.array, x.array.dtype.type(0)), False)
    return ReLU.apply(x)


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """Leaky ReLU: x where x > 0, else ``negative_slope``·x.

    Args:
        x: input tensor or array (floating point).
        negative_slope: slope for negative inputs.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.leaky_relu(cr.tensor([-2.0, 3.0]), 0.5).tolist()
        [-1.0, 3.0]
    """
    return LeakyReLU.apply(_float_operand(x, "leaky_relu"), negative_slope=negative_slope)


# The smooth family lives in ops/activation_smooth.py; its old import path keeps working.
# isort: split
from chainrule.ops.activation_smooth import (  # noqa: E402, F401
    ELU,
    GELU,
    GELUTanh,
    Hardtanh,
    LogSigmoid,
    ReLU6,
    SiLU,
    Softplus,
    elu,
    gelu,
    hardtanh,
    log_sigmoid,
    relu6,
    silu,
    softplus,
)

# The softmax family lives in ops/softmax.py; its old import path keeps working.
# isort: split
from chainrule.ops.softmax import (  # noqa: E402, F401
    LogSoftmax,
    Softmax,
    _softmax_parts,
    log_softmax,
    softmax,
)
