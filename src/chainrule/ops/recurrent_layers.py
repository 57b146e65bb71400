"""A whole recurrent layer (one direction, every time step) as one op: what ``nn.RNN``,
``nn.LSTM`` and ``nn.GRU`` run when they train.

Step by step, each time step multiplies its own input by W_ih and accumulates its own share of
∂W_ih and ∂W_hh: 3·T small matrix products where the sequence allows three large ones. Here the
input side of every step is one product, x_all·W_ihᵀ, before the time loop; the loop does only
what must be sequential (h·W_hhᵀ and the gates forward, ∂a·W_hh and the gates backward); and
∂x, ∂W_ih, ∂W_hh are one product each over all steps, as PyTorch's fused CPU kernel does
(measured, LSTM 32 → 64, batch 32 × 20 steps: 3.5 ms a training step as one op per step, against
PyTorch's 1.9; see docs/benchmarks.md for this op's numbers).

Arrays inside are in processing order (reversed for the backward direction) and gate-major,
(gates, T, B, H), so each gate of each step is one contiguous block for the elementwise work
(in PyTorch's (B, gates·H) layout a gate is a strided column block: twice the time a pass).
The input and the output are in time order. Shapes: x (T, B, I) time-major, h0 and c0
(B, H); the output is (T, B, H), h at every step (an LSTM adds c_T as a last row:
(T + 1, B, H)). The formulas are those of the one-step ops in ``ops/recurrent_cells.py``;
``backward_graph`` replays those steps as tensor ops for second derivatives.
"""

from __future__ import annotations

import numpy as np

from chainrule._gemm import product
from chainrule.autograd.function import Function
from chainrule.ops._util import ONE
from chainrule.ops.recurrent_cells import sigmoid_over


class _Layer:
    """What the three layers share: the input side as one product, the weight gradients as
    one product per gate, the time order."""

    reverse = False
    has_c = False  # an LSTM's c0 between h0 and the weights

    def _input_side(self, x, w_ih, bias, gates: int) -> np.ndarray:
        """x_t·W_ihᵀ (+ bias) of every step at once, (gates, T, B, H) in processing order."""
        steps, batch, features = x.shape
        xs = x[::-1] if self.reverse else x
        self.x_flat = np.ascontiguousarray(xs).reshape(steps * batch, features)
        size = w_ih.shape[0] // gates
        pre = np.matmul(self.x_flat, w_ih.reshape(gates, size, features).transpose(0, 2, 1))
        if bias is not None:
            pre += bias.reshape(gates, 1, size)
        return pre.reshape(gates, steps, batch, size)

    def _in_time_order(self, seq: np.ndarray) -> np.ndarray:
        return seq[::-1] if self.reverse else seq

    def _recurrent(self, h: np.ndarray, gates: int) -> np.ndarray:
        """h·W_hhᵀ as a (gates, B, H) view (of a fresh (B, gates·H) product)."""
        out = product(h, self.w_hh.T)
        return out.reshape(h.shape[0], gates, -1).transpose(1, 0, 2)

    def _back_through_w_hh(self, da_step: np.ndarray) -> np.ndarray:
        """∂a·W_hh for one step's (gates, B, H) gradient: the hidden state's gradient."""
        batch = da_step.shape[1]
        return product(da_step.transpose(1, 0, 2).reshape(batch, -1), self.w_hh)

    def _grads(self, da_x: np.ndarray, da_h: np.ndarray, grad_h0, grad_c0=None) -> tuple:
        """(∂x, ∂h0[, ∂c0], ∂W_ih, ∂W_hh[, ∂b_ih, ∂b_hh]) from the pre-activation gradients of
        every step, (gates, T, B, H) in processing order (``da_h`` the hidden side's)."""
        needs = self.needs_grad
        gates, steps, batch, size = da_x.shape
        flat_x = da_x.reshape(gates, steps * batch, size)
        flat_h = flat_x if da_h is da_x else da_h.reshape(gates, steps * batch, size)
        grad_x = None
        if needs[0]:
            per_gate = np.matmul(flat_x, self.w_ih.reshape(gates, size, -1))
            grad_x = per_gate[0] if gates == 1 else per_gate.sum(0)
            grad_x = self._in_time_order(grad_x.reshape(steps, batch, -1))
        grads = [grad_x, grad_h0] + ([grad_c0] if self.has_c else [])
        at = len(grads)
        if needs[at]:
            grads.append(
                np.matmul(flat_x.transpose(0, 2, 1), self.x_flat).reshape(gates * size, -1)
            )
        else:
            grads.append(None)
        if needs[at + 1]:
            previous = self.hs[:steps].reshape(steps * batch, size)  # h before each step
            grads.append(np.matmul(flat_h.transpose(0, 2, 1), previous).reshape(gates * size, -1))
        else:
            grads.append(None)
        if len(needs) > at + 2:  # each bias its own array (never one array for two inputs)
            grads.append(flat_x.sum(1).reshape(-1) if needs[at + 2] else None)
            grads.append(flat_h.sum(1).reshape(-1) if needs[at + 3] else None)
        return tuple(grads)

    def _hidden_grads(self, grad: np.ndarray) -> np.ndarray:
        """The output's gradient for each step's h, in processing order."""
        return self._in_time_order(grad[: self.hs.shape[0] - 1])


class RNNLayer(_Layer, Function):
    """h_t = tanh(x_t·W_ihᵀ + b_ih + h_(t−1)·W_hhᵀ + b_hh) for t = 1…T (relu on request)."""

    label = "RNN layer"
    grads_match_inputs = True
    formulas = ("W_ih·f'(a)", "W_hh·f'(a)", "x·f'(a)", "h·f'(a)", "f'(a)", "f'(a)")
    relu = False

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, relu=False, reverse=False):
        self.w_ih, self.w_hh, self.relu, self.reverse = w_ih, w_hh, relu, reverse
        pre = self._input_side(x, w_ih, None if b_ih is None else b_ih + b_hh, 1)[0]
        hs = np.empty((pre.shape[0] + 1,) + h0.shape, pre.dtype)
        hs[0] = h0
        for t in range(pre.shape[0]):
            a = pre[t]
            a += product(hs[t], w_hh.T)
            if relu:
                np.maximum(a, 0, out=hs[t + 1])
            else:
                np.tanh(a, out=hs[t + 1])
        self.hs = hs
        return self._in_time_order(hs[1:])

    def backward(self, grad):
        outs, grad_h = self.hs[1:], self._hidden_grads(grad)
        if self.relu:
            local = (outs > 0).astype(outs.dtype)
        else:
            local = np.multiply(outs, outs)
            np.subtract(ONE, local, out=local)
        da = np.empty_like(outs)
        dh = None
        for t in range(outs.shape[0] - 1, -1, -1):
            step = grad_h[t] if dh is None else np.add(grad_h[t], dh)
            np.multiply(step, local[t], out=da[t])
            dh = product(da[t], self.w_hh)
        return self._grads(da[None], da[None], dh if self.needs_grad[1] else None)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.recurrent_graph import replayed_grads

        return replayed_grads(self, grad, layer=True)


class LSTMLayer(_Layer, Function):
    """Gates i, f, g, o of x_t·W_ihᵀ + b_ih + h_(t−1)·W_hhᵀ + b_hh; c_t = σ(f)·c_(t−1) +
    σ(i)·tanh(g), h_t = σ(o)·tanh(c_t). Output: h_1…h_T and c_T, (T + 1, B, H)."""

    label = "LSTM layer"
    grads_match_inputs = True
    formulas = ("W_ih·∂a", "W_hh·∂a", "σ(f)", "x·∂a", "h·∂a", "∂a", "∂a")
    has_c = True

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        self.w_ih, self.w_hh, self.reverse = w_ih, w_hh, reverse
        gates = self._input_side(x, w_ih, None if b_ih is None else b_ih + b_hh, 4)
        steps = gates.shape[1]
        hs = np.empty((steps + 1,) + h0.shape, gates.dtype)
        cs = np.empty_like(hs)
        tanh_cs = np.empty_like(hs[1:])
        hs[0], cs[0] = h0, c0
        with np.errstate(over="ignore"):
            for t in range(steps):
                a = gates[:, t]  # i, f, g, o: four contiguous (B, H) blocks
                a += self._recurrent(hs[t], 4)
                sigmoid_over(a[:2])
                np.tanh(a[2], out=a[2])
                sigmoid_over(a[3])
                np.multiply(a[1], cs[t], out=cs[t + 1])
                cs[t + 1] += a[0] * a[2]
                np.tanh(cs[t + 1], out=tanh_cs[t])
                np.multiply(a[3], tanh_cs[t], out=hs[t + 1])
        self.gates, self.hs, self.cs, self.tanh_cs = gates, hs, cs, tanh_cs
        out = np.empty_like(hs)
        out[:steps] = self._in_time_order(hs[1:])
        out[steps] = cs[steps]
        return out

    def backward(self, grad):
        gates, tanh_cs = self.gates, self.tanh_cs
        steps = gates.shape[1]
        grad_h = self._hidden_grads(grad)
        # local derivatives of every step at once: σ(1 − σ) for i, f, o; 1 − tanh² for g
        local = np.subtract(ONE, gates)
        local *= gates
        np.multiply(gates[2], gates[2], out=local[2])
        np.subtract(ONE, local[2], out=local[2])
        through_h = np.multiply(tanh_cs, tanh_cs)  # ∂h_t/∂c_t = o·(1 − tanh² c_t)
        np.subtract(ONE, through_h, out=through_h)
        through_h *= gates[3]
        da = np.empty_like(gates)
        dc = np.array(grad[steps])  # c_T's own gradient, then carried back through f
        dh = None
        for t in range(steps - 1, -1, -1):
            dh_t = grad_h[t] if dh is None else np.add(grad_h[t], dh)
            dc += dh_t * through_h[t]
            d = da[:, t]
            np.multiply(dc, gates[2, t], out=d[0])
            np.multiply(dc, self.cs[t], out=d[1])
            np.multiply(dc, gates[0, t], out=d[2])
            np.multiply(dh_t, tanh_cs[t], out=d[3])
            d *= local[:, t]
            dc *= gates[1, t]
            dh = self._back_through_w_hh(d)
        needs = self.needs_grad
        return self._grads(da, da, dh if needs[1] else None, dc if needs[2] else None)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.recurrent_graph import replayed_grads

        return replayed_grads(self, grad, layer=True)


class GRULayer(_Layer, Function):
    """r, z = σ(x_t·W_i{r,z}ᵀ + b + h·W_h{r,z}ᵀ + b), n = tanh(x_t·W_inᵀ + b_in +
    r·(h·W_hnᵀ + b_hn)), h_t = (h_(t−1) − n)·z + n."""

    label = "GRU layer"
    grads_match_inputs = True
    formulas = ("W_ih·∂a", "z + W_hh·∂a", "x·∂a", "h·∂a", "∂a", "∂a")

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False):
        self.w_ih, self.w_hh, self.reverse = w_ih, w_hh, reverse
        size = h0.shape[1]
        bias = None
        if b_ih is not None:  # b_hh's r and z parts add as b_ih's do; b_hn is inside r·(…)
            bias = b_ih.copy()
            bias[: 2 * size] += b_hh[: 2 * size]
        gates = self._input_side(x, w_ih, bias, 3)
        steps = gates.shape[1]
        hs = np.empty((steps + 1,) + h0.shape, gates.dtype)
        hidden_n = np.empty_like(hs[1:])  # h·W_hnᵀ + b_hn of each step
        hs[0] = h0
        with np.errstate(over="ignore"):
            for t in range(steps):
                a, from_h = gates[:, t], self._recurrent(hs[t], 3)
                a[:2] += from_h[:2]
                sigmoid_over(a[:2])
                if b_hh is None:
                    hidden_n[t] = from_h[2]
                else:
                    np.add(from_h[2], b_hh[2 * size :], out=hidden_n[t])
                n = a[2]  # n over the input side's candidate
                n += a[0] * hidden_n[t]
                np.tanh(n, out=n)
                np.subtract(hs[t], n, out=hs[t + 1])
                hs[t + 1] *= a[1]
                hs[t + 1] += n
        self.gates, self.hs, self.hidden_n = gates, hs, hidden_n
        return self._in_time_order(hs[1:])

    def backward(self, grad):
        gates, steps = self.gates, self.gates.shape[1]
        r, z, n = gates[0], gates[1], gates[2]
        grad_h = self._hidden_grads(grad)
        # per-step factors of every step at once
        through_n = np.multiply(n, n)  # (1 − z)·(1 − n²)
        np.subtract(ONE, through_n, out=through_n)
        through_n -= z * through_n
        through_z = np.subtract(self.hs[:steps], n)  # (h − n)·z(1 − z)
        through_z *= z
        through_z -= z * through_z
        through_r = np.subtract(ONE, r)  # (h·W_hnᵀ + b_hn)·r(1 − r)
        through_r *= r
        through_r *= self.hidden_n
        da_x = np.empty_like(gates)
        da_h = np.empty_like(gates)
        dh = None
        for t in range(steps - 1, -1, -1):
            dh_t = grad_h[t] if dh is None else np.add(grad_h[t], dh)
            dn = np.multiply(dh_t, through_n[t], out=da_x[2, t])
            np.multiply(dn, through_r[t], out=da_x[0, t])
            np.multiply(dh_t, through_z[t], out=da_x[1, t])
            da_h[:2, t] = da_x[:2, t]
            np.multiply(dn, r[t], out=da_h[2, t])
            dh = self._back_through_w_hh(da_h[:, t])
            dh += dh_t * z[t]
        return self._grads(da_x, da_h, dh if self.needs_grad[1] else None)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.recurrent_graph import replayed_grads

        return replayed_grads(self, grad, layer=True)
