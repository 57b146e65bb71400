"""One time step of an Elman RNN, an LSTM and a GRU, each as one op (PyTorch's gate order and
formulas, ``nn/recurrent_cells.py``).

Written with the ordinary ops, an LSTM step is about fifteen of them (two products, an add, a
chunk into four gates, three sigmoids, two tanhs, three products and a sum), each with its own
bookkeeping, forward and backward: most of a small recurrent layer's training time was that
overhead (measured, 32 → 64 units, batch 32: 0.39× PyTorch's speed). Here the two products
and every gate are one op whose backward is the chain rule through the gates written out by
hand. The op-by-op step stays the definition (``cr.explain`` runs it, to show each gate as a
factor); tests check the two against each other and against PyTorch.

Inputs are (x, h[, c], W_ih, W_hh[, b_ih, b_hh]), all 2-D (batch, features) or the weights'
own shapes. Gradients of the loss for each follow from the pre-activation gradient ``da``
(batch, gates·hidden): ∂x = da·W_ih, ∂W_ih = daᵀ·x, ∂b_ih = Σ_rows da, and the same with h
and W_hh (for the GRU, the hidden-side candidate part is scaled by r first).
"""

from __future__ import annotations

import numpy as np

from chainrule._gemm import product
from chainrule.autograd.function import Function
from chainrule.ops._util import ONE
from chainrule.ops.matmul import column_sum


def sigmoid_over(z: np.ndarray) -> None:
    """σ(z) = 1/(1 + e^(−z)) written over ``z`` (PyTorch's formula). e^(−z) may overflow to
    inf, which gives the right 0: call it inside ``np.errstate(over="ignore")``."""
    np.negative(z, out=z)
    np.exp(z, out=z)
    z += ONE
    np.divide(ONE, z, out=z)


def _sigmoid_into(z: np.ndarray) -> None:
    """:func:`sigmoid_over` with the overflow warning off."""
    with np.errstate(over="ignore"):
        sigmoid_over(z)


def _pre_activations(x, h, w_ih, w_hh, b_ih, b_hh) -> np.ndarray:
    """x·W_ihᵀ + h·W_hhᵀ (+ b_ih + b_hh) in one fresh (batch, gates·hidden) array."""
    out = product(x, w_ih.T)
    out += product(h, w_hh.T)
    if b_ih is not None:
        out += b_ih
        out += b_hh
    return out


def _input_grads(fn, da_x: np.ndarray, da_h: np.ndarray, first: tuple, grad_h_extra=None):
    """The gradients of x, h and the weights from the pre-activation gradients: ``da_x`` on
    the input side, ``da_h`` on the hidden side (the same array except in a GRU). ``first``
    holds the gradients of the inputs between h and the weights (an LSTM's c)."""
    needs, x, h, w_ih, w_hh = fn.needs_grad, fn.x, fn.h, fn.w_ih, fn.w_hh
    at = 2 + len(first)  # index of W_ih among the inputs
    grad_x = product(da_x, w_ih) if needs[0] else None
    grad_h = None
    if needs[1]:
        grad_h = product(da_h, w_hh)
        if grad_h_extra is not None:
            grad_h += grad_h_extra
    grads = [grad_x, grad_h, *first]
    grads.append(product(da_x.T, x) if needs[at] else None)
    grads.append(product(da_h.T, h) if needs[at + 1] else None)
    if len(needs) > at + 2:  # the biases: each its own array (never one array for two inputs)
        grads.append(column_sum(da_x) if needs[at + 2] else None)
        grads.append(column_sum(da_h) if needs[at + 3] else None)
    return tuple(grads)


class RNNCellStep(Function):
    """h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (relu in place of tanh on request)."""

    named_by_call = True  # TanhBackward0 or ReluBackward0 (autograd/grad_fn_names.py)
    label = "RNN cell"
    formulas = ("W_ih·f'(a)", "W_hh·f'(a)", "x·f'(a)", "h·f'(a)", "f'(a)", "f'(a)")
    grads_match_inputs = True
    relu = False

    def forward(self, x, h, w_ih, w_hh, b_ih=None, b_hh=None, relu=False):
        self.x, self.h, self.w_ih, self.w_hh, self.relu = x, h, w_ih, w_hh, relu
        out = _pre_activations(x, h, w_ih, w_hh, b_ih, b_hh)
        if relu:
            np.maximum(out, 0, out=out)
        else:
            np.tanh(out, out=out)
        self.out = out
        return out

    def backward(self, grad):
        if self.relu:
            da = np.multiply(grad, self.out > 0)
        else:
            da = np.multiply(self.out, self.out)
            np.subtract(ONE, da, out=da)
            da *= grad
        return _input_grads(self, da, da, ())

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.recurrent_graph import replayed_grads

        return replayed_grads(self, grad)


class LSTMCellStep(Function):
    """(h', c') packed as one (2, batch, hidden) array: gates i, f, g, o from
    x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh, c' = σ(f)·c + σ(i)·tanh(g), h' = σ(o)·tanh(c')."""

    label = "LSTM cell"
    formulas = ("W_ih·∂a", "W_hh·∂a", "σ(f)", "x·∂a", "h·∂a", "∂a", "∂a")
    grads_match_inputs = True

    def forward(self, x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
        self.x, self.h, self.c, self.w_ih, self.w_hh = x, h, c, w_ih, w_hh
        size = c.shape[1]  # (h may be projected: proj_size)
        gates = _pre_activations(x, h, w_ih, w_hh, b_ih, b_hh)  # i f g o
        _sigmoid_into(gates[:, : 2 * size])
        np.tanh(gates[:, 2 * size : 3 * size], out=gates[:, 2 * size : 3 * size])
        _sigmoid_into(gates[:, 3 * size :])
        i, f, g, o = (gates[:, k * size : (k + 1) * size] for k in range(4))
        out = np.empty((2,) + c.shape, gates.dtype)
        new_c = np.multiply(f, c, out=out[1])
        new_c += i * g
        self.tanh_c = np.tanh(new_c)
        np.multiply(o, self.tanh_c, out=out[0])
        self.gates = gates
        return out

    def backward(self, grad):
        grad_h, grad_c = grad[0], grad[1]
        size, gates, tanh_c = self.c.shape[1], self.gates, self.tanh_c
        i, f, g, o = (gates[:, k * size : (k + 1) * size] for k in range(4))
        # c' reaches the loss directly and through h' = o·tanh(c')
        total_c = np.multiply(tanh_c, tanh_c)
        np.subtract(ONE, total_c, out=total_c)
        total_c *= o
        total_c *= grad_h
        total_c += grad_c
        da = np.empty_like(gates)
        np.multiply(total_c, g, out=da[:, :size])
        np.multiply(total_c, self.c, out=da[:, size : 2 * size])
        np.multiply(total_c, i, out=da[:, 2 * size : 3 * size])
        np.multiply(grad_h, tanh_c, out=da[:, 3 * size :])
        # local derivatives: σ·(1 − σ) for i, f, o; 1 − tanh² for g
        local = np.subtract(ONE, gates)
        local *= gates
        np.multiply(g, g, out=local[:, 2 * size : 3 * size])
        np.subtract(ONE, local[:, 2 * size : 3 * size], out=local[:, 2 * size : 3 * size])
        da *= local
        grad_c_prev = np.multiply(total_c, f) if self.needs_grad[2] else None
        return _input_grads(self, da, da, (grad_c_prev,))

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.recurrent_graph import replayed_grads

        return replayed_grads(self, grad)


class GRUCellStep(Function):
    """h' = (h − n)·z + n with r, z = σ(x·W_i{r,z}ᵀ + b + h·W_h{r,z}ᵀ + b) and
    n = tanh(x·W_inᵀ + b_in + r·(h·W_hnᵀ + b_hn)) (PyTorch's gates r, z, n)."""

    label = "GRU cell"
    formulas = ("W_ih·∂a", "z + W_hh·∂a", "x·∂a", "h·∂a", "∂a", "∂a")
    grads_match_inputs = True

    def forward(self, x, h, w_ih, w_hh, b_ih=None, b_hh=None):
        self.x, self.h, self.w_ih, self.w_hh = x, h, w_ih, w_hh
        size = h.shape[1]
        from_x = product(x, w_ih.T)
        from_h = product(h, w_hh.T)
        if b_ih is not None:
            from_x += b_ih
            from_h += b_hh
        rz = from_x[:, : 2 * size]  # r and z, over the input side's array
        rz += from_h[:, : 2 * size]
        _sigmoid_into(rz)
        r, z = rz[:, :size], rz[:, size:]
        hidden_n = from_h[:, 2 * size :]
        n = np.multiply(r, hidden_n)
        n += from_x[:, 2 * size :]
        np.tanh(n, out=n)
        out = np.subtract(h, n)
        out *= z
        out += n
        self.gates, self.hidden_n, self.n = from_x, hidden_n, n
        return out

    def backward(self, grad):
        size = self.h.shape[1]
        rz, n = self.gates[:, : 2 * size], self.n
        r, z = rz[:, :size], rz[:, size:]
        da_x = np.empty_like(self.gates)
        # through n: (1 − z)·(1 − n²)
        dn = np.multiply(n, n)
        np.subtract(ONE, dn, out=dn)
        dn *= grad
        dn -= z * dn
        da_x[:, 2 * size :] = dn
        np.multiply(dn, self.hidden_n, out=da_x[:, :size])  # r's share
        np.subtract(self.h, n, out=da_x[:, size : 2 * size])  # z's share
        da_x[:, size : 2 * size] *= grad
        local = np.subtract(ONE, rz)
        local *= rz
        da_x[:, : 2 * size] *= local
        da_h = da_x.copy()
        da_h[:, 2 * size :] *= r
        grad_h_direct = np.multiply(grad, z) if self.needs_grad[1] else None
        return _input_grads(self, da_x, da_h, (), grad_h_direct)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.recurrent_graph import replayed_grads

        return replayed_grads(self, grad)


class _PackedPart(Function):
    """One output of a packed op (``packed[k]``, a view): backward puts its gradient in
    place k of a zero array of the packed shape."""

    saves_inputs = False  # backward reads the shape only
    saves_tensors = False
    index = 0
    label = "part"
    formulas = ("1 (at its place)",)

    def forward(self, packed):
        self.shape = packed.shape
        return packed[self.index]

    def backward(self, grad):
        full = np.zeros(self.shape, grad.dtype)
        full[self.index] = grad
        return (full,)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule import ops

        zero = grad * 0
        parts = [grad if k == self.index else zero for k in range(self.shape[0])]
        return (ops.stack(parts, axis=0),)


class LSTMHiddenPart(_PackedPart):
    """h' out of :class:`LSTMCellStep` (PyTorch: ``MulBackward0``, the product o·tanh(c'))."""

    label = "h'"
    grads_match_inputs = True
    index = 0


class LSTMCellStatePart(_PackedPart):
    """c' out of :class:`LSTMCellStep` (PyTorch: ``AddBackward0``, the sum f·c + i·g)."""

    label = "c'"
    grads_match_inputs = True
    index = 1
