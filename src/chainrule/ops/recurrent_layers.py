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
Inside the forward pass, the rows of a gate that goes through σ are negated (σ(z) = 1/(1 +
e^(z')) with z' = −z: one pass fewer), and an LSTM's gates are kept in the order o, i, f, g
(the three σ gates side by side, and the three that c's gradient multiplies). The input and
the output are in time order, the weights and their gradients in PyTorch's layout.

Shapes: x (T, B, I) time-major, h0 and c0 (B, H); the output is (T, B, H), h at every step
(an LSTM adds c_T as a last row: (T + 1, B, H)).

Packed sequences (``batch_sizes``, PyTorch's: at time step t only the first batch_sizes[t]
rows are real, the rows sorted longest first): a row past its own length keeps its h and c
(its output there is that kept state, which packing drops), so the last row of the output is
each sequence's state at its own last real step, in either direction; in backward such a
step passes the state's gradient through unchanged and its pre-activation gradient is 0.

The formulas are those of the one-step ops in ``ops/recurrent_cells.py``; ``backward_graph``
replays those steps as tensor ops for second derivatives.
"""

from __future__ import annotations

import numpy as np

from chainrule import _mkl
from chainrule._gemm import product
from chainrule.autograd.function import Function
from chainrule.ops._util import ONE
from chainrule.ops.matmul import column_sum


class _Layer:
    """What the three layers share: the input side as one product, the weight gradients as
    one product per gate, the time order, the gate order and signs inside."""

    reverse = False
    has_c = False  # an LSTM's c0 between h0 and the weights
    order: tuple | None = None  # PyTorch's gate index of each gate inside (None: the same)
    negated = 0  # how many leading gates (inside order) go through σ: their rows are negated
    sizes = None  # packed: the real rows of each step in processing order (None: every row)

    def _real_rows(self, batch_sizes, batch: int) -> None:
        """Keep how many leading rows are real at each step, in processing order (None when
        every row is real at every step: the plain, unpacked loop)."""
        if batch_sizes is None:
            return
        sizes = np.asarray(batch_sizes, dtype=np.int64)
        if np.all(sizes == batch):
            return
        self.sizes = sizes[::-1] if self.reverse else sizes

    def _keep_past_the_end(self, states: np.ndarray, t: int) -> None:
        """Rows past their sequence's end at step ``t`` keep their state (packed batches)."""
        real = self.sizes[t]
        if real < states.shape[1]:
            states[t + 1, real:] = states[t, real:]

    def _real_mask(self, dtype) -> np.ndarray:
        """(T, B, 1): 1 where a step of a row is real, 0 past the row's end."""
        batch = self.hs.shape[1]
        return (np.arange(batch)[None, :, None] < self.sizes[:, None, None]).astype(dtype)

    def _pass_through(self, dh: np.ndarray, dh_t: np.ndarray, t: int) -> None:
        """A kept state's gradient goes to the previous state unchanged (its ∂a rows are 0, so
        ``dh`` holds 0 there)."""
        real = self.sizes[t]
        if real < dh.shape[0]:
            dh[real:] = dh_t[real:]

    def _prepare(self, x, w_ih, w_hh, bias, gates: int) -> np.ndarray:
        """Keep what the time loop multiplies by, and return x_t·W_ihᵀ (+ bias) of every step
        at once, (gates, T, B, H) in processing order (σ gates negated)."""
        steps, batch, features = x.shape
        size = w_hh.shape[1]
        xs = x[::-1] if self.reverse else x
        self.x_flat = np.ascontiguousarray(xs).reshape(steps * batch, features)
        self.w_ih, self.w_hh = self._inside(w_ih, gates), self._inside(w_hh, gates)
        sign = np.ones((gates, 1, 1), w_hh.dtype)
        sign[: self.negated] = -1
        # W_hhᵀ and each gate's W_ihᵀ copied C-ordered (and signed): OpenBLAS multiplies by a
        # C-ordered matrix up to 4× faster than by a transposed view at these sizes (32 × 64 ·
        # 64 × 64: 3.4 against 13.9 µs); the copies are paid once for all T steps
        signed_hh = self.w_hh.reshape(gates, size, -1) * sign
        # per gate, (H_in, H): h·W_hhᵀ comes out gate-major, (gates, B, H), as one batched
        # product as fast as the single one (10.7 against 10.8 µs, 32 × 64 · 64 × 256), and
        # adds to the gates with no strided pass
        self.w_hh_t = np.ascontiguousarray(signed_hh.transpose(0, 2, 1))
        signed_ih = self.w_ih.reshape(gates, size, features) * sign
        pre = np.matmul(self.x_flat, np.ascontiguousarray(signed_ih.transpose(0, 2, 1)))
        if bias is not None:
            pre += self._inside(bias, gates).reshape(gates, 1, size) * sign
        return pre.reshape(gates, steps, batch, size)

    def _inside(self, array: np.ndarray, gates: int) -> np.ndarray:
        """A weight or bias with its gate blocks in the order used inside."""
        if self.order is None:
            return array
        return array.reshape((gates, -1) + array.shape[1:])[list(self.order)].reshape(array.shape)

    def _outside(self, grad: np.ndarray, gates: int) -> np.ndarray:
        """A (gates·H, ...) gradient computed in the inside gate order, back in PyTorch's."""
        if self.order is None:
            return grad
        inside = grad.reshape((gates, -1) + grad.shape[1:])
        out = np.empty_like(inside)
        out[list(self.order)] = inside
        return out.reshape(grad.shape)

    def _in_time_order(self, seq: np.ndarray) -> np.ndarray:
        return seq[::-1] if self.reverse else seq

    def _recurrent(self, h: np.ndarray, gates: int) -> np.ndarray:
        """h·W_hhᵀ (σ gates negated), a fresh (gates, B, H) array."""
        return np.matmul(h, self.w_hh_t)

    def _back_through_w_hh(self, da_step: np.ndarray, into: np.ndarray, t: int):
        """∂a·W_hh for step ``t``'s (gates, B, H) gradient: the hidden state's gradient (None at
        the first step when h0 needs none). The step's gradient is first copied batch-major into
        ``into`` (B, gates·H), its row of the array the weight gradients come from."""
        np.copyto(into.reshape(da_step.shape[1], da_step.shape[0], -1), da_step.transpose(1, 0, 2))
        return product(into, self.w_hh) if t or self.needs_grad[1] else None

    def _grads(self, da_x: np.ndarray, da_h: np.ndarray, grad_h0, grad_c0=None) -> tuple:
        """(∂x, ∂h0[, ∂c0], ∂W_ih, ∂W_hh[, ∂b_ih, ∂b_hh]) from the pre-activation gradients of
        every step, (T, B, gates·H) in processing order (``da_h`` the hidden side's): one
        matrix product each over all steps."""
        needs = self.needs_grad
        steps, batch, width = da_x.shape
        gates = width // self.hs.shape[2]
        flat_x = da_x.reshape(steps * batch, width)
        flat_h = flat_x if da_h is da_x else da_h.reshape(steps * batch, width)
        grad_x = None
        if needs[0]:
            grad_x = self._in_time_order(_mkl.dot(flat_x, self.w_ih).reshape(steps, batch, -1))
        grads = [grad_x, grad_h0] + ([grad_c0] if self.has_c else [])
        at = len(grads)
        previous = self.hs[:steps].reshape(steps * batch, -1)  # h before each step
        weights = ((needs[at], flat_x, self.x_flat), (needs[at + 1], flat_h, previous))
        for needed, da, read in weights:
            grads.append(self._outside(_mkl.dot(da.T, read), gates) if needed else None)
        if len(needs) > at + 2:  # each bias its own array (never one array for two inputs)
            for needed, da in ((needs[at + 2], flat_x), (needs[at + 3], flat_h)):
                grads.append(self._outside(column_sum(da), gates) if needed else None)
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

    def forward(
        self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, relu=False, reverse=False, batch_sizes=None
    ):
        self.relu, self.reverse = relu, reverse
        self._real_rows(batch_sizes, x.shape[1])
        pre = self._prepare(x, w_ih, w_hh, None if b_ih is None else b_ih + b_hh, 1)[0]
        hs = np.empty((pre.shape[0] + 1,) + h0.shape, pre.dtype)
        hs[0] = h0
        for t in range(pre.shape[0]):
            a = pre[t]
            a += product(hs[t], self.w_hh_t[0])
            if relu:
                np.maximum(a, 0, out=hs[t + 1])
            else:
                np.tanh(a, out=hs[t + 1])
            if self.sizes is not None:
                self._keep_past_the_end(hs, t)
        self.hs = hs
        return self._in_time_order(hs[1:])

    def backward(self, grad):
        outs, grad_h = self.hs[1:], self._hidden_grads(grad)
        if self.relu:
            local = (outs > 0).astype(outs.dtype)
        else:
            local = np.multiply(outs, outs)
            np.subtract(ONE, local, out=local)
        if self.sizes is not None:
            local *= self._real_mask(local.dtype)
        da = np.empty_like(outs)
        dh = None
        for t in range(outs.shape[0] - 1, -1, -1):
            step = grad_h[t] if dh is None else np.add(grad_h[t], dh)
            np.multiply(step, local[t], out=da[t])
            if t or self.needs_grad[1]:
                dh = product(da[t], self.w_hh)
                if self.sizes is not None:
                    self._pass_through(dh, step, t)
        return self._grads(da, da, dh if self.needs_grad[1] else None)

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
    order = (3, 0, 1, 2)  # inside: o, i, f, g
    negated = 3

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, batch_sizes=None):
        self.reverse = reverse
        self._real_rows(batch_sizes, x.shape[1])
        gates = self._prepare(x, w_ih, w_hh, None if b_ih is None else b_ih + b_hh, 4)
        steps = gates.shape[1]
        hs = np.empty((steps + 1,) + h0.shape, gates.dtype)
        cs = np.empty_like(hs)
        tanh_cs = np.empty_like(hs[1:])
        hs[0], cs[0] = h0, c0
        with np.errstate(over="ignore"):  # e^(−z) → inf for very negative z: σ = 0, right
            for t in range(steps):
                a = gates[:, t]  # o, i, f, g: four contiguous (B, H) blocks
                a += self._recurrent(hs[t], 4)
                sigmoid = a[:3]  # holds −z: σ(z) = 1/(1 + e^(−z))
                np.exp(sigmoid, out=sigmoid)
                sigmoid += ONE
                np.divide(ONE, sigmoid, out=sigmoid)
                np.tanh(a[3], out=a[3])
                np.multiply(a[2], cs[t], out=cs[t + 1])
                cs[t + 1] += a[1] * a[3]
                np.tanh(cs[t + 1], out=tanh_cs[t])
                np.multiply(a[0], tanh_cs[t], out=hs[t + 1])
                if self.sizes is not None:
                    self._keep_past_the_end(hs, t)
                    self._keep_past_the_end(cs, t)
        self.gates, self.hs, self.cs, self.tanh_cs = gates, hs, cs, tanh_cs
        out = np.empty_like(hs)
        out[:steps] = self._in_time_order(hs[1:])
        out[steps] = cs[steps]
        return out

    def backward(self, grad):
        gates, tanh_cs = self.gates, self.tanh_cs
        o, i, f, g = gates
        steps = gates.shape[1]
        grad_h = self._hidden_grads(grad)
        # every step's factors at once: ∂a_i, ∂a_f, ∂a_g = ∂c·(g·σ'(i), c·σ'(f), i·(1 − g²)),
        # ∂a_o = ∂h·tanh(c)·σ'(o), and ∂h/∂c = o·(1 − tanh² c) with σ' = σ(1 − σ)
        local = np.subtract(ONE, gates[:3])
        local *= gates[:3]
        by_c = np.empty_like(gates[1:])
        np.multiply(g, local[1], out=by_c[0])
        np.multiply(self.cs[:steps], local[2], out=by_c[1])
        np.multiply(g, g, out=by_c[2])
        np.subtract(ONE, by_c[2], out=by_c[2])
        by_c[2] *= i
        by_h = np.multiply(tanh_cs, local[0])
        through_h = np.multiply(tanh_cs, tanh_cs)
        np.subtract(ONE, through_h, out=through_h)
        through_h *= o
        if self.sizes is not None:  # past a row's end: no gate factors, c kept (f = 1)
            real = self._real_mask(gates.dtype)
            by_c *= real
            by_h *= real
            through_h *= real
            f = np.where(real > 0, f, ONE)
        da = np.empty(gates.shape[1:3] + (4 * gates.shape[3],), gates.dtype)  # (T, B, 4H)
        d = np.empty_like(gates[:, 0])  # one step's, gate-major
        dc = np.array(grad[steps])  # c_T's own gradient, then carried back through f
        dh = None
        for t in range(steps - 1, -1, -1):
            dh_t = grad_h[t] if dh is None else np.add(grad_h[t], dh)
            dc += dh_t * through_h[t]
            np.multiply(dc, by_c[:, t], out=d[1:])
            np.multiply(dh_t, by_h[t], out=d[0])
            dc *= f[t]
            dh = self._back_through_w_hh(d, da[t], t)
            if dh is not None and self.sizes is not None:
                self._pass_through(dh, dh_t, t)
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
    negated = 2

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, batch_sizes=None):
        self.reverse = reverse
        self._real_rows(batch_sizes, x.shape[1])
        size = h0.shape[1]
        bias = None
        if b_ih is not None:  # b_hh's r and z parts add as b_ih's do; b_hn is inside r·(…)
            bias = b_ih.copy()
            bias[: 2 * size] += b_hh[: 2 * size]
        gates = self._prepare(x, w_ih, w_hh, bias, 3)
        steps = gates.shape[1]
        hs = np.empty((steps + 1,) + h0.shape, gates.dtype)
        hidden_n = np.empty_like(hs[1:])  # h·W_hnᵀ + b_hn of each step
        hs[0] = h0
        with np.errstate(over="ignore"):  # e^(−z) → inf for very negative z: σ = 0, right
            for t in range(steps):
                a, from_h = gates[:, t], self._recurrent(hs[t], 3)
                rz = a[:2]  # holds −z: σ(z) = 1/(1 + e^(−z))
                rz += from_h[:2]
                np.exp(rz, out=rz)
                rz += ONE
                np.divide(ONE, rz, out=rz)
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
                if self.sizes is not None:
                    self._keep_past_the_end(hs, t)
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
        if self.sizes is not None:  # past a row's end: no gate factors, h kept (z = 1)
            real = self._real_mask(gates.dtype)
            through_n *= real
            through_z *= real
            through_r *= real
            z = np.where(real > 0, z, ONE)
        da_x = np.empty(gates.shape[1:3] + (3 * gates.shape[3],), gates.dtype)  # (T, B, 3H)
        da_h = np.empty_like(da_x)
        dx, dhid = np.empty_like(gates[:, 0]), np.empty_like(gates[:, 0])  # a step's, gate-major
        dh = None
        for t in range(steps - 1, -1, -1):
            dh_t = grad_h[t] if dh is None else np.add(grad_h[t], dh)
            dn = np.multiply(dh_t, through_n[t], out=dx[2])
            np.multiply(dn, through_r[t], out=dx[0])
            np.multiply(dh_t, through_z[t], out=dx[1])
            dhid[:2] = dx[:2]
            np.multiply(dn, r[t], out=dhid[2])
            np.copyto(da_x[t].reshape(dx.shape[1], 3, -1), dx.transpose(1, 0, 2))
            dh = self._back_through_w_hh(dhid, da_h[t], t)
            if dh is not None:
                dh += dh_t * z[t]
        return self._grads(da_x, da_h, dh if self.needs_grad[1] else None)

    def backward_graph(self, grad):
        """The gradients as tensors in the graph (for second derivatives)."""
        from chainrule.ops.recurrent_graph import replayed_grads

        return replayed_grads(self, grad, layer=True)
