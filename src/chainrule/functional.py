"""Stateless functions: activations, the linear map and losses (``chainrule.functional``).

Each is the function form of an op in :mod:`chainrule.ops` with PyTorch's signature and
semantics; arguments may be tensors or NumPy arrays. ``chainrule.nn.functional`` exposes the
same functions.
"""

from __future__ import annotations

from chainrule import ops as _ops
from chainrule.tensor import Tensor

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "elu",
    "gelu",
    "huber_loss",
    "l1_loss",
    "leaky_relu",
    "linear",
    "log_sigmoid",
    "log_softmax",
    "mse_loss",
    "nll_loss",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]


# ---- activations ------------------------------------------------------------------------------
def sigmoid(x) -> Tensor:
    """Logistic function σ(x) = 1 / (1 + e^(−x)), elementwise and stable for any finite x.

    Args:
        x: input tensor or array.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.sigmoid(cr.tensor([0.0])).tolist()
        [0.5]
    """
    return _ops.sigmoid(x)


def tanh(x) -> Tensor:
    """Hyperbolic tangent, elementwise.

    Args:
        x: input tensor or array.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.tanh(cr.tensor([0.0])).tolist()
        [0.0]
    """
    return _ops.tanh(x)


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
    return _ops.relu(x)


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
    return _ops.leaky_relu(x, negative_slope)


def elu(x, alpha: float = 1.0) -> Tensor:
    """Exponential linear unit: x where x > 0, else α·(e^x − 1).

    Args:
        x: input tensor or array (floating point).
        alpha: the value the output approaches for very negative x is −alpha.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.elu(cr.tensor([0.0, 1.0])).tolist()
        [0.0, 1.0]
    """
    return _ops.elu(x, alpha)


def gelu(x, approximate: str = "none") -> Tensor:
    """Gaussian error linear unit x·Φ(x), Φ the standard normal CDF.

    Args:
        x: input tensor or array (floating point).
        approximate: ``"none"`` for the exact erf form, ``"tanh"`` for the tanh approximation.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> round(cr.functional.gelu(cr.tensor([1.0], dtype="float64")).item(), 6)
        0.841345
    """
    return _ops.gelu(x, approximate)


def softplus(x, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """Softplus ln(1 + e^(βx))/β, a smooth ReLU; linear where βx > ``threshold``.

    Args:
        x: input tensor or array (floating point).
        beta: sharpness (larger is closer to ReLU).
        threshold: above this value of βx the output is x itself, as in PyTorch.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> round(cr.functional.softplus(cr.tensor([0.0], dtype="float64")).item(), 6)
        0.693147
    """
    return _ops.softplus(x, beta, threshold)


def silu(x) -> Tensor:
    """Sigmoid linear unit (swish) x·σ(x).

    Args:
        x: input tensor or array (floating point).

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.silu(cr.tensor([0.0])).tolist()
        [0.0]
    """
    return _ops.silu(x)


def log_sigmoid(x) -> Tensor:
    """ln σ(x), computed without overflow or loss of tiny values.

    Args:
        x: input tensor or array (floating point).

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.log_sigmoid(cr.tensor([-1000.0, 1000.0])).tolist()
        [-1000.0, 0.0]
    """
    return _ops.log_sigmoid(x)


def softmax(x, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """Softmax e^x / Σ e^x along one axis; every slice along it sums to 1.

    Args:
        x: input tensor or array (floating point).
        axis: the axis to normalise over (NumPy's name).
        dim: the same, under PyTorch's name; overrides ``axis``.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.softmax(cr.tensor([0.0, 0.0])).tolist()
        [0.5, 0.5]
    """
    return _ops.softmax(x, axis=axis, dim=dim)


def log_softmax(x, axis: int = -1, *, dim: int | None = None) -> Tensor:
    """Log-softmax x − ln Σ e^x along one axis, stable for any finite logits.

    Args:
        x: input tensor or array (floating point).
        axis: the axis to normalise over (NumPy's name).
        dim: the same, under PyTorch's name; overrides ``axis``.

    Shape:
        any shape; the output has the input's shape.

    Example:
        >>> import chainrule as cr
        >>> [round(v, 4) for v in cr.functional.log_softmax(cr.tensor([0.0, 0.0])).tolist()]
        [-0.6931, -0.6931]
    """
    return _ops.log_softmax(x, axis=axis, dim=dim)


# ---- the linear map ---------------------------------------------------------------------------
def linear(x, weight, bias=None) -> Tensor:
    """Affine map x @ weightᵀ + bias as one fused op (PyTorch's weight layout).

    Args:
        x: input tensor or array.
        weight: weight of shape (out_features, in_features).
        bias: optional bias of shape (out_features,).

    Shape:
        x: (..., in_features) -> (..., out_features).

    Example:
        >>> import chainrule as cr
        >>> cr.functional.linear(cr.ones(2, 3), cr.ones(4, 3)).shape
        (2, 4)
    """
    return _ops.linear(x, weight, bias)


# ---- losses -----------------------------------------------------------------------------------
def mse_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean squared error between ``input`` and ``target``.

    Args:
        input: predictions.
        target: targets of the same shape (tensor or array).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` (per-element losses).

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.mse_loss(cr.tensor([1.0, 3.0]), cr.tensor([0.0, 0.0])).item()
        5.0
    """
    return _ops.mse_loss(input, target, reduction)


def l1_loss(input, target, reduction: str = "mean") -> Tensor:
    """Mean absolute error between ``input`` and ``target``.

    Args:
        input: predictions.
        target: targets of the same shape (tensor or array).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.l1_loss(cr.tensor([1.0, -3.0]), cr.tensor([0.0, 0.0])).item()
        2.0
    """
    return _ops.l1_loss(input, target, reduction)


def huber_loss(input, target, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: quadratic for errors smaller than ``delta``, linear beyond.

    Args:
        input: predictions.
        target: targets of the same shape (tensor or array).
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        delta: where the loss switches from ½d² to delta·(|d| − ½·delta).

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> cr.functional.huber_loss(cr.tensor([0.5, 3.0]), cr.tensor([0.0, 0.0]), "none").tolist()
        [0.125, 2.5]
    """
    return _ops.huber_loss(input, target, reduction, delta)


def binary_cross_entropy(input, target, weight=None, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities; logarithms clamped at −100 as in PyTorch.

    Prefer :func:`binary_cross_entropy_with_logits`, which is stable where this is not.

    Args:
        input: probabilities in [0, 1].
        target: targets in [0, 1] of the same shape (tensor or array, integer labels allowed).
        weight: optional per-element weight, broadcast to the input's shape.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Shape:
        input and target: the same shape; output: scalar, or that shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> loss = cr.functional.binary_cross_entropy(cr.tensor([0.5]), cr.tensor([1.0]))
        >>> round(loss.item(), 4)
        0.6931
    """
    return _ops.binary_cross_entropy(input, target, weight, reduction)


def binary_cross_entropy_with_logits(
    input, target, weight=None, reduction: str = "mean", pos_weight=None
) -> Tensor:
    """Binary cross-entropy of logits, fused with the sigmoid: stable for any logit.

    Args:
        input: logits (any real numbers).
        target: targets in [0, 1] of the same shape (tensor or array, integer labels allowed).
        weight: optional per-element weight, broadcast to the input's shape.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        pos_weight: optional weight of the positive term, per class (broadcast along the last
            axis), to rebalance rare positives.

    Shape:
        input and target: the same shape, e.g. (N,) or (N, C); output: scalar, or that shape for
        ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> loss = cr.functional.binary_cross_entropy_with_logits(cr.tensor([0.0]), [1.0])
        >>> round(loss.item(), 4)
        0.6931
    """
    return _ops.binary_cross_entropy_with_logits(input, target, weight, reduction, pos_weight)


# Declared, as on the loss modules, so ``fit`` can tell a logit output without reading names.
binary_cross_entropy_with_logits.output = "logit"


def cross_entropy(
    input,
    target,
    weight=None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Tensor:
    """Cross-entropy of logits against class indices or class probabilities (softmax fused in).

    With class weights and ``reduction="mean"`` the sum is divided by the total weight of the
    targets that are not ignored, as in PyTorch.

    Args:
        input: logits, classes along axis 1 (axis 0 for an unbatched (C,) input).
        target: integer class indices, or float probabilities of the input's shape.
        weight: optional per-class weight of shape (C,).
        ignore_index: class-index targets equal to it contribute nothing.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.
        label_smoothing: ε in [0, 1]; the target becomes (1 − ε)·target + ε/C.

    Shape:
        input: (C,), (N, C) or (N, C, d1, ...); index target: (), (N,) or (N, d1, ...);
        probability target: the input's shape; output: scalar, or the target's per-position
        shape for ``"none"``.

    Example:
        >>> import chainrule as cr
        >>> logits = cr.tensor([[0.0, 0.0]], requires_grad=True)
        >>> loss = cr.functional.cross_entropy(logits, [1])
        >>> round(loss.item(), 4)
        0.6931
    """
    return _ops.cross_entropy(input, target, weight, ignore_index, reduction, label_smoothing)


def nll_loss(
    input, target, weight=None, ignore_index: int = -100, reduction: str = "mean"
) -> Tensor:
    """Negative log-likelihood of class indices, given log-probabilities (e.g. log_softmax).

    Args:
        input: log-probabilities, classes along axis 1 (axis 0 for an unbatched (C,) input).
        target: integer class indices.
        weight: optional per-class weight of shape (C,).
        ignore_index: targets equal to it contribute nothing.
        reduction: ``"mean"`` (weighted mean), ``"sum"`` or ``"none"``.

    Shape:
        input: (C,), (N, C) or (N, C, d1, ...); target: (), (N,) or (N, d1, ...).

    Example:
        >>> import chainrule as cr
        >>> cr.functional.nll_loss(cr.tensor([[-1.0, -2.0]]), [1]).item()
        2.0
    """
    return _ops.nll_loss(input, target, weight, ignore_index, reduction)


# ---- convolution and pooling (ops/conv.py) -----------------------------------------------------
# isort: split
from chainrule.ops.conv import (  # noqa: E402
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    avg_pool1d,
    avg_pool2d,
    conv1d,
    conv2d,
    conv_transpose1d,
    conv_transpose2d,
    max_pool1d,
    max_pool2d,
)

__all__ += [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "max_pool1d",
    "max_pool2d",
]
