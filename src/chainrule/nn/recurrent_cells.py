"""Recurrent cells: one time step of an Elman RNN, an LSTM and a GRU (PyTorch's ``RNNCell``,
``LSTMCell`` and ``GRUCell``, with their parameter names, layouts, gate order and init).

Each step is defined with the ordinary differentiable ops (``linear``, ``sigmoid``, ``tanh``,
``chunk``, ``*``, ``+``): that is what :func:`op_by_op` runs, and what ``cr.explain`` shows, a
factor per gate. Training runs the same step as one op (``ops/recurrent_cells.py``, its backward
written out by hand: 3× fewer ops a step). The step functions are shared with the sequence
layers in ``nn/recurrent.py``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np

from chainrule import ops
from chainrule._device import check_device
from chainrule.autograd.compile_hooks import per_call
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn._util import as_float_input, check_size, float_dtype
from chainrule.nn.module import Module, Parameter
from chainrule.ops.recurrent_cells import (
    GRUCellStep,
    LSTMCellStatePart,
    LSTMCellStep,
    LSTMHiddenPart,
    RNNCellStep,
)
from chainrule.ops.recurrent_graph import gru_cell, lstm_cell, rnn_cell
from chainrule.random import Generator
from chainrule.tensor import Tensor

NONLINEARITIES = ("tanh", "relu")


_OP_BY_OP = [0]  # > 0 inside op_by_op()


@contextmanager
def op_by_op():
    """Inside this block, recurrent steps run as the ordinary ops, one per gate and product
    (``cr.explain`` uses it, so each gate is a factor of the chain rule); outside, each step
    is one op. Both compute the same formulas (to rounding)."""
    _OP_BY_OP[0] += 1
    try:
        yield
    finally:
        _OP_BY_OP[0] -= 1


def _fused_args(x, h, state, weights) -> tuple | None:
    """The one-op step's inputs, or None where the op-by-op step must run (inside
    :func:`op_by_op`, or with one bias of the two)."""
    w_ih, w_hh, b_ih, b_hh = weights
    if _OP_BY_OP[0] or (b_ih is None) != (b_hh is None):
        return None
    biases = () if b_ih is None else (b_ih, b_hh)
    return (x, h) + state + (w_ih, w_hh) + biases


# ---- one time step, as functions of tensors (the cells and the layers both call these) -------
def rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity: str = "tanh") -> Tensor:
    """h' = tanh(W_ih x + b_ih + W_hh h + b_hh) (relu in place of tanh on request)."""
    fused = _fused_args(x, h, (), (w_ih, w_hh, b_ih, b_hh))
    if fused is not None:
        return RNNCellStep.apply(*fused, relu=nonlinearity == "relu")
    return rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, relu=nonlinearity == "relu")


def lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr=None) -> tuple[Tensor, Tensor]:
    """(h', c'): the gates i, f, g, o in PyTorch's order, c' = f·c + i·g, h' = o·tanh(c')
    (then h' @ W_hrᵀ for an LSTM with ``proj_size``)."""
    fused = _fused_args(x, h, (c,), (w_ih, w_hh, b_ih, b_hh))
    if fused is not None:
        packed = LSTMCellStep.apply(*fused)
        h, c = LSTMHiddenPart.apply(packed), LSTMCellStatePart.apply(packed)
    else:
        h, c = lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh)
    return (h if w_hr is None else ops.linear(h, w_hr)), c


def gru_step(x, h, w_ih, w_hh, b_ih, b_hh) -> Tensor:
    """h' = (h − n)·z + n with r, z = σ(W_i{r,z} x + b + W_h{r,z} h + b) and
    n = tanh(W_in x + b_in + r·(W_hn h + b_hn)): PyTorch's gates r, z, n, its formula."""
    fused = _fused_args(x, h, (), (w_ih, w_hh, b_ih, b_hh))
    if fused is not None:
        return GRUCellStep.apply(*fused)
    return gru_cell(x, h, w_ih, w_hh, b_ih, b_hh)


def zero_state(shape: tuple, dtype) -> Tensor:
    """The zero state used where none is given; made per call, so ``cr.compile`` replays it."""
    return Tensor._make(per_call(np.zeros, shape, dtype), False)


# ---- the cells -------------------------------------------------------------------------------
class RNNCellBase(Module):
    """What the three cells share: parameters ``weight_ih (gates·hidden, input)``,
    ``weight_hh (gates·hidden, hidden)``, ``bias_ih``, ``bias_hh``, all drawn from
    U(−1/√hidden_size, 1/√hidden_size) as PyTorch's; input and state checks."""

    _gates = 1

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None, generator=None):
        super().__init__()
        check_device(device)
        name = type(self).__name__
        self.input_size = check_size(input_size, "input_size", name)
        self.hidden_size = check_size(hidden_size, "hidden_size", name)
        if not isinstance(bias, bool):
            raise TypeError(f"{name}: bias should be of type bool, got: {type(bias).__name__}")
        self.bias = bias
        dtype, rows = float_dtype(dtype), self._gates * self.hidden_size
        self.weight_ih = Parameter(np.empty((rows, self.input_size), dtype))
        self.weight_hh = Parameter(np.empty((rows, self.hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(rows, dtype))
            self.bias_hh = Parameter(np.empty(rows, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draw fresh weights: every parameter from U(−1/√hidden_size, 1/√hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0.0
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound, generator)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity}"
        return text

    def _config(self) -> dict:
        """The constructor's arguments, for saving the architecture (``nn/registry``)."""
        args = {"input_size": self.input_size, "hidden_size": self.hidden_size, "bias": self.bias}
        if hasattr(self, "nonlinearity"):
            args["nonlinearity"] = self.nonlinearity
        return args | {"dtype": str(self.weight_ih.array.dtype)}

    def _weights(self) -> tuple:
        # by attribute, not from _parameters: a weight may be a plain tensor put in its place
        # (AWD-LSTM's weight drop deletes the Parameter and sets a dropped-out copy)
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _input(self, x) -> tuple[Tensor, bool]:
        """``x`` as a (batch, input_size) tensor, and whether it came with a batch axis."""
        name = type(self).__name__
        x = as_float_input(x, self.weight_ih.array.dtype, name)
        if x.ndim not in (1, 2):
            raise ShapeError(
                f"{name}: Expected input to be 1D or 2D, got {x.ndim}D instead (shape "
                f"{x.shape}); one time step is (batch, input_size) or (input_size,)"
            )
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: input has inconsistent input_size: got {x.shape[-1]} expected "
                f"{self.input_size} (input of shape {x.shape})"
            )
        return (x, True) if x.ndim == 2 else (x.unsqueeze(0), False)

    def _state(self, state, x: Tensor, batched: bool, what: str) -> Tensor:
        """A given state as (batch, hidden_size), or zeros for ``None``."""
        name = type(self).__name__
        if state is None:
            return zero_state((x.shape[0], self.hidden_size), x.array.dtype)
        state = as_float_input(state, x.array.dtype, name)
        expected = (x.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if state.ndim not in (1, 2):
            raise ShapeError(
                f"{name}: Expected {what} to be 1D or 2D, got {state.ndim}D instead (shape "
                f"{state.shape}); expected {expected}"
            )
        if state.shape != expected:
            raise ShapeError(
                f"{name}: {what} has shape {state.shape}, expected {expected} "
                f"({'(batch, hidden_size)' if batched else '(hidden_size,) for unbatched input'})"
            )
        return state if batched else state.unsqueeze(0)


def _unbatched(out: Tensor, batched: bool) -> Tensor:
    return out if batched else out.squeeze(0)


class RNNCell(RNNCellBase):
    """An Elman RNN cell: h' = tanh(W_ih x + b_ih + W_hh h + b_hh), or relu in place of tanh.

    Args:
        input_size: features of the input x.
        hidden_size: features of the hidden state h.
        bias: learn ``bias_ih`` and ``bias_hh``.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights.

    Shape:
        input (batch, input_size) or (input_size,); hx the same with hidden_size (zeros when
        omitted) → h' (batch, hidden_size) or (hidden_size,).

    Example:
        >>> import chainrule as cr
        >>> cell = cr.nn.RNNCell(3, 5)
        >>> cell(cr.ones(2, 3)).shape
        (2, 5)
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(f"Unknown nonlinearity: {nonlinearity!r}; use 'tanh' or 'relu'")
        super().__init__(input_size, hidden_size, bias, device, dtype, generator)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        x, batched = self._input(input)
        h = self._state(hx, x, batched, "hidden")
        return _unbatched(rnn_step(x, h, *self._weights(), self.nonlinearity), batched)


class LSTMCell(RNNCellBase):
    """A long short-term memory cell (PyTorch's gate order i, f, g, o in ``weight_ih``)::

        i, f, o = σ(W_i· x + b_i· + W_h· h + b_h·),  g = tanh(W_ig x + b_ig + W_hg h + b_hg)
        c' = f·c + i·g,  h' = o·tanh(c')

    Args: as :class:`RNNCell`, without ``nonlinearity``.

    Shape:
        input (batch, input_size) or (input_size,); hx = (h, c), each (batch, hidden_size) or
        (hidden_size,), zeros when omitted → (h', c') of the same shapes.

    Example:
        >>> import chainrule as cr
        >>> h, c = cr.nn.LSTMCell(3, 5)(cr.ones(2, 3))
        >>> h.shape, c.shape
        ((2, 5), (2, 5))
    """

    _gates = 4

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__(input_size, hidden_size, bias, device, dtype, generator)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        x, batched = self._input(input)
        if hx is None:
            h = c = self._state(None, x, batched, "hx[0]")
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(
                    f"LSTMCell: hx must be a tuple (h, c) of two tensors, got {type(hx).__name__}"
                )
            h = self._state(hx[0], x, batched, "hx[0]")
            c = self._state(hx[1], x, batched, "hx[1]")
        h, c = lstm_step(x, h, c, *self._weights())
        return _unbatched(h, batched), _unbatched(c, batched)


class GRUCell(RNNCellBase):
    """A gated recurrent unit cell (PyTorch's gate order r, z, n in ``weight_ih``)::

        r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r·(W_hn h + b_hn)),  h' = (1 − z)·n + z·h

    Args: as :class:`RNNCell`, without ``nonlinearity``.

    Shape: as :class:`RNNCell`.

    Example:
        >>> import chainrule as cr
        >>> cr.nn.GRUCell(3, 5)(cr.ones(3)).shape
        (5,)
    """

    _gates = 3

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__(input_size, hidden_size, bias, device, dtype, generator)

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        x, batched = self._input(input)
        h = self._state(hx, x, batched, "hidden")
        return _unbatched(gru_step(x, h, *self._weights()), batched)
