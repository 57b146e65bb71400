"""The ceiling: each case written by hand in NumPy, forward and backward, with no autograd.

This is what a careful person writes for one fixed network: float32 throughout, the bias added
in place, gradients of the loss derived on paper, SGD updates in place. An engine that builds a
graph can approach it but not beat it.
"""

from __future__ import annotations

import numpy as np

name = "numpy"


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def build_mlp_step(case, params, batches=None):
    """Return ``step(x, y) -> loss`` that trains copies of ``params`` with SGD in NumPy."""
    layers = [(w.copy(), b.copy()) for w, b in params]
    lr = case.lr
    last = len(layers) - 1
    hidden = case.hidden
    bce = case.loss == "bce"
    bce_prob = case.loss == "bce_prob"

    def step(x, y):
        # forward, keeping each layer's input and post-activation output
        inputs = []
        h = x
        for i, (w, b) in enumerate(layers):
            inputs.append(h)
            z = h @ w.T
            z += b
            if i < last:
                if hidden == "relu":
                    h = np.maximum(z, 0, out=z)
                elif hidden == "tanh":
                    h = np.tanh(z, out=z)
                else:
                    h = _sigmoid(z)
            else:
                h = z
        n = x.shape[0]
        # loss and its gradient with respect to the logits
        if bce:
            p = _sigmoid(h)
            loss = np.mean(np.maximum(h, 0) - h * y + np.log1p(np.exp(-np.abs(h))))
            grad = (p - y) / n
        elif bce_prob:  # σ output, BCE on probabilities (logs clamped at −100, as PyTorch)
            p = _sigmoid(h)
            with np.errstate(divide="ignore"):
                log_p = np.maximum(np.log(p), -100)
                log_q = np.maximum(np.log1p(-p), -100)
            loss = -np.mean(y * log_p + (1 - y) * log_q)
            # ∂ℓ/∂p · σ'(z) = (p − y)/(p(1 − p)) · p(1 − p) = p − y
            grad = (p - y) / n
        else:
            shifted = h - h.max(axis=1, keepdims=True)
            e = np.exp(shifted)
            s = e.sum(axis=1, keepdims=True)
            rows = np.arange(n)
            loss = np.mean(np.log(s[:, 0]) - shifted[rows, y])
            grad = e / s
            grad[rows, y] -= 1.0
            grad /= n
        # backward, updating each layer once its gradients are known
        for i in range(last, -1, -1):
            w, b = layers[i]
            a = inputs[i]
            grad_w = grad.T @ a
            grad_b = grad.sum(axis=0)
            if i > 0:
                grad = grad @ w
                if hidden == "relu":
                    grad *= a > 0
                elif hidden == "tanh":
                    grad *= 1.0 - a * a
                else:
                    grad *= a * (1.0 - a)
            grad_w *= lr
            w -= grad_w
            grad_b *= lr
            b -= grad_b
        return loss

    step.params = layers
    return step


def build_per_op(chain: int, size: int):
    """The per-op case: ``chain`` multiplications forward, and their gradients backward."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size).astype(np.float32)
    c = (1.0 + 0.001 * rng.standard_normal(size)).astype(np.float32)

    def forward():
        h = x
        for _ in range(chain):
            h = h * c
        return h

    def forward_backward():
        h = x
        for _ in range(chain):
            h = h * c
        g = np.ones_like(h)
        for _ in range(chain):
            g = g * c
        return g

    # Without autograd there is no graph to record: both forward modes are the same loop.
    return {"forward": forward, "forward_graph": forward, "forward_backward": forward_backward}
