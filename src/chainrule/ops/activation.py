"""Activation functions, each stable for large |x| (no overflow warnings, no NaN)."""

from __future__ import annotations

import numpy as np

from chainrule.autograd.function import Function
from chainrule.ops._util import operand
from chainrule.tensor import Tensor


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)) without overflow: e^(−|z|) never exceeds 1."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """σ(z) = 1 / (1 + e^(−z)).  Local derivative: σ(z)·(1 − σ(z))."""

    label = "σ"
    formulas = ("σ(z)·(1 − σ(z))",)

    def forward(self, z):
        self.out = stable_sigmoid(z)  # the derivative is cheapest in terms of σ itself
        return self.out

    def backward(self, grad):
        return (grad * self.out * (1 - self.out),)


class Tanh(Function):
    """tanh(z).  Local derivative: 1 − tanh(z)²."""

    label = "tanh"
    formulas = ("1 − tanh(z)²",)

    def forward(self, z):
        self.out = np.tanh(z)
        return self.out

    def backward(self, grad):
        return (grad * (1 - self.out * self.out),)


class ReLU(Function):
    """max(z, 0).  Local derivative: 1 if z > 0 else 0."""

    label = "relu"
    formulas = ("1 if z > 0 else 0",)

    def forward(self, z):
        self.out = np.maximum(z, 0)
        return self.out

    def backward(self, grad):
        return (grad * (self.out > 0),)


def sigmoid(x) -> Tensor:
    """σ(x) = 1 / (1 + e^(−x)), elementwise."""
    return Sigmoid.apply(operand(x))


def tanh(x) -> Tensor:
    """tanh(x), elementwise."""
    return Tanh.apply(operand(x))


def relu(x) -> Tensor:
    """max(x, 0), elementwise."""
    return ReLU.apply(operand(x))
