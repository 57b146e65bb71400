"""The recurrent steps written with the ordinary ops (one per product and gate): the definition
of what the one-op cells and layers (``recurrent_cells.py``, ``recurrent_layers.py``) compute.

``nn`` runs these steps where every gate must be its own op (``cr.explain``); the fused ops
differentiate them for second derivatives (``backward_graph``): the steps are replayed on the
op's inputs and ``autograd.grad(..., create_graph=True)`` records their backward pass.
"""

from __future__ import annotations

import numpy as np


class StepParts:
    """What ``cr.explain`` collects while a recurrent layer runs op by op: (tensor, name) of
    each step's pre-activations ``a``, gates, c and h (``i``, ``f``, ``g``, ``o``, ``c``,
    ``h``; a GRU's ``r``, ``z``, ``n``), each name prefixed with ``where`` (``t2.``,
    ``l1_reverse.t0.``), which the layer sets before each step."""

    def __init__(self):
        self.found: list = []
        self.where = ""

    def add(self, **parts) -> None:
        self.found += [(t, self.where + name) for name, t in parts.items()]


PARTS: list = [None]  # the StepParts being filled (explain), or None: nothing is noted


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, relu: bool = False):
    """h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (relu in place of tanh on request)."""
    from chainrule import ops

    pre = ops.linear(x, w_ih, b_ih) + ops.linear(h, w_hh, b_hh)
    h = pre.relu() if relu else pre.tanh()
    if PARTS[0] is not None:
        PARTS[0].add(a=pre, h=h)
    return h


def lstm_cell(x, h, c, w_ih, w_hh, b_ih=None, b_hh=None):
    """(h', c'): gates i, f, g, o (PyTorch's order), c' = σ(f)·c + σ(i)·tanh(g),
    h' = σ(o)·tanh(c')."""
    from chainrule import ops

    gates = ops.linear(x, w_ih, b_ih) + ops.linear(h, w_hh, b_hh)
    i, f, g, o = ops.chunk(gates, 4, axis=-1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c = f * c + i * g
    h = o * c.tanh()
    if PARTS[0] is not None:
        PARTS[0].add(a=gates, i=i, f=f, g=g, o=o, c=c, h=h)
    return h, c


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' = (h − n)·z + n with r, z = σ(x·W_i{r,z}ᵀ + b + h·W_h{r,z}ᵀ + b) and
    n = tanh(x·W_inᵀ + b_in + r·(h·W_hnᵀ + b_hn)) (PyTorch's gates r, z, n)."""
    from chainrule import ops
    from chainrule.ops.shape_extra import split

    size = h.shape[-1]
    from_x = split(ops.linear(x, w_ih, b_ih), [2 * size, size], axis=-1)
    from_h = split(ops.linear(h, w_hh, b_hh), [2 * size, size], axis=-1)
    r, z = ops.chunk((from_x[0] + from_h[0]).sigmoid(), 2, axis=-1)
    n = (from_x[1] + r * from_h[1]).tanh()
    new_h = (h - n) * z + n
    if PARTS[0] is not None:
        PARTS[0].add(r=r, z=z, n=n, h=new_h)
    return new_h


def keep_past_the_end(new: tuple, old: tuple, real: int) -> tuple:
    """Each tensor of ``new`` with the rows from ``real`` on taken from ``old``: a packed
    batch's sequences past their end keep their state (None entries stay None)."""
    from chainrule.ops import elementwise

    batch = next(t for t in new if t is not None).shape[0]
    if real >= batch:
        return new
    mask = (np.arange(batch) < real)[:, None]
    return tuple(None if n is None else elementwise.where(mask, n, o) for n, o in zip(new, old))


def _replay_cell(fn, parents: tuple):
    """``fn``'s output rebuilt from its inputs ``parents`` by the op-by-op step (a cell op)."""
    from chainrule import ops
    from chainrule.ops.recurrent_cells import GRUCellStep, LSTMCellStep

    if isinstance(fn, LSTMCellStep):
        h, c = lstm_cell(*parents)
        return ops.stack([h, c], axis=0)
    if isinstance(fn, GRUCellStep):
        return gru_cell(*parents)
    return rnn_cell(*parents, relu=fn.relu)


def _replay_layer(fn, parents: tuple):
    """``fn``'s output rebuilt from its inputs ``parents``, step by step with the op-by-op
    cells."""
    from chainrule import ops
    from chainrule.ops.recurrent_layers import GRULayer, LSTMLayer
    from chainrule.ops.shape_extra import unbind

    x, h, *rest = parents
    c = rest.pop(0) if fn.has_c else None
    steps = list(unbind(x, 0))
    outputs = []
    for k, x_t in enumerate(reversed(steps) if fn.reverse else steps):
        state = (h, c)
        if isinstance(fn, LSTMLayer):
            h, c = lstm_cell(x_t, h, c, *rest)
        elif isinstance(fn, GRULayer):
            h = gru_cell(x_t, h, *rest)
        else:
            h = rnn_cell(x_t, h, *rest, relu=fn.relu)
        if fn.sizes is not None:  # packed: rows past their end keep their state
            h, c = keep_past_the_end((h, c), state, int(fn.sizes[k]))
        outputs.append(h)
    if fn.reverse:
        outputs.reverse()
    if c is not None:
        outputs.append(c)
    return ops.stack(outputs, axis=0)


def replayed_grads(fn, grad, layer: bool = False) -> tuple:
    """``fn``'s input gradients as tensors in the graph: its op-by-op steps replayed on its
    inputs, and their backward pass recorded (for second derivatives)."""
    from chainrule.autograd.grad_api import grad as autograd_grad
    from chainrule.autograd.grad_mode import enable_grad
    from chainrule.ops.elementwise import clone

    with enable_grad():
        # A copy of each input keeps the partial derivatives apart: differentiating w.r.t. the
        # inputs themselves would add the paths between them (c_0 made from h_0, or one tensor
        # passed twice) on top of what the engine adds for them again.
        parents = tuple(clone(p) if need else p for p, need in zip(fn.parents, fn.needs_grad))
        out = _replay_layer(fn, parents) if layer else _replay_cell(fn, parents)
    wanted = [p for p, need in zip(parents, fn.needs_grad) if need]
    grads = iter(autograd_grad(out, wanted, grad, create_graph=True, allow_unused=True))
    return tuple(next(grads) if need else None for need in fn.needs_grad)
