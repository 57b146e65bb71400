"""Power-average pooling, as PyTorch's ``lp_pool1d/2d/3d``: (Σ_window x^p)^(1/p).

PyTorch computes it as ``avg_pool(x^p)`` times the kernel's cell count K, then
``(sign(s)·relu(|s|)·K)^(1/p)``; so do we, with the average pool and the power as the
differentiable ops they are, and the last step as one op, :class:`LPRoot`, whose derivative is
PyTorch's: K/p·(K·s)^(1/p − 1), and 0 where the window's sum s is 0 (PyTorch's relu there
stops the infinite slope of the root). ``norm_type`` ±∞ is max pooling of |x| (of −|x| for
−∞), as in PyTorch. Windows are never padded; ``ceil_mode`` keeps a last, partial window,
whose average then counts only its cells inside the input, as PyTorch's.
"""

from __future__ import annotations

import math

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import operand
from chainrule.ops.elementwise import where
from chainrule.ops.power import power
from chainrule.tensor import Tensor


class LPRoot(Function):
    """y = (K·s)^(1/p), the root of a window's power sum. Local derivative:
    K/p·(K·s)^(1/p − 1), and 0 where s = 0."""

    label = "lp_root"
    formulas = ("K/p·(K·s)^(1/p − 1), 0 where s = 0",)

    def forward(self, s, *, count, norm_type):
        self.count, self.norm_type = count, norm_type
        self.s = s
        with np.errstate(divide="ignore", invalid="ignore"):
            return power(s * s.dtype.type(count), 1.0 / norm_type)

    def backward(self, grad):
        count, p = self.s.dtype.type(self.count), self.norm_type
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            slope = count * (1.0 / p) * power(self.s * count, 1.0 / p - 1.0)
            return (np.where(self.s == 0, 0, grad * slope.astype(self.s.dtype, copy=False)),)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        (s,) = self.parents
        p = self.norm_type
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            slope = (s * self.count) ** (1.0 / p - 1.0) * (self.count / p)
            return (where(self.s == 0, 0, grad * slope),)


def _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, dims: int, op: str) -> Tensor:
    from chainrule.ops.pooling import avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
    from chainrule.ops.pooling3d import avg_pool3d, max_pool3d

    input = operand(input)
    max_pool = (max_pool1d, max_pool2d, max_pool3d)[dims - 1]
    avg_pool = (avg_pool1d, avg_pool2d, avg_pool3d)[dims - 1]
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float, np.number)):
        raise TypeError(f"{op}: norm_type must be a number, got {norm_type!r}")
    if norm_type == math.inf:
        return max_pool(input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    if norm_type == -math.inf:
        return -max_pool(-input.abs(), kernel_size, stride, 0, 1, ceil_mode)
    kernel = kernel_size if isinstance(kernel_size, (list, tuple)) else (kernel_size,) * dims
    if len(kernel) != dims:
        raise ValueError(
            f"{op}: kernel_size must be an int or a tuple of {dims} ints, got {kernel_size!r}"
        )
    if norm_type == 0:
        raise ZeroDivisionError(f"{op}: norm_type 0 has no root 1/p; use a non-zero norm_type")
    out = avg_pool(input**norm_type, kernel_size, stride, 0, ceil_mode)
    count = math.prod(int(k) for k in kernel)
    return LPRoot.apply(out, count=count, norm_type=float(norm_type))


def lp_pool1d(input, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, L), as ``torch.nn.functional.lp_pool1d``:
    (Σ_window x^p)^(1/p) per window.

    Args:
        input: (N, C, L) or (C, L).
        norm_type: p (±∞: the window's largest |x|, or smallest for −∞).
        kernel_size: window length.
        stride: step between windows (default: the kernel size).
        ceil_mode: keep a last, partial window.

    The gradient is 0 where a window's power sum is 0, as PyTorch's.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.lp_pool1d(cr.tensor([[3.0, 4.0]]), 2, 2).tolist()
        [[5.0]]
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1, "lp_pool1d")


def lp_pool2d(input, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, H, W), as ``torch.nn.functional.lp_pool2d``.

    Args:
        input: (N, C, H, W) or (C, H, W).
        norm_type, stride, ceil_mode: as :func:`lp_pool1d`.
        kernel_size: an int or (kH, kW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.lp_pool2d(cr.ones(1, 2, 4, 4), 2, 2).shape
        (1, 2, 2, 2)
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2, "lp_pool2d")


def lp_pool3d(input, norm_type, kernel_size, stride=None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling over (N, C, D, H, W), as ``torch.nn.functional.lp_pool3d``.

    Args:
        input: (N, C, D, H, W) or (C, D, H, W).
        norm_type, stride, ceil_mode: as :func:`lp_pool1d`.
        kernel_size: an int or (kD, kH, kW).

    Example:
        >>> import chainrule as cr
        >>> cr.nn.functional.lp_pool3d(cr.ones(1, 2, 4, 4, 4), 2, 2).shape
        (1, 2, 2, 2, 2)
    """
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3, "lp_pool3d")
