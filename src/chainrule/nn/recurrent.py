"""Recurrent layers over whole sequences: RNN, LSTM and GRU, as PyTorch's (arguments, parameter
names ``weight_ih_l0``, ``bias_hh_l1_reverse``, ..., layouts, init, input and output shapes).

Training runs each layer, in each direction, as one op over the whole sequence
(``ops/recurrent_layers.py``: the input side and the weight gradients as one matrix product
each). Inside ``op_by_op()`` (``cr.explain``) and for an LSTM with ``proj_size``, the time loop
calls the step functions of ``nn/recurrent_cells.py`` instead, one op per gate.

A :class:`~chainrule.nn.utils.rnn.PackedSequence` input runs padded in sorted order, each layer
told how many rows are real at each step (a row past its end keeps its state), so the output
comes back packed and h_n holds each sequence's state at its own last step, as in PyTorch.
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np

from chainrule import ops
from chainrule._device import check_device
from chainrule.errors import ShapeError
from chainrule.nn import init
from chainrule.nn._util import as_float_input, check_size, float_dtype
from chainrule.nn.dropout import Dropout
from chainrule.nn.module import Module, Parameter
from chainrule.nn.recurrent_cells import (
    _OP_BY_OP,
    NONLINEARITIES,
    gru_step,
    lstm_step,
    rnn_step,
    zero_state,
)
from chainrule.nn.utils.packed_sequence import PackedSequence, pack_rows, pad_rows
from chainrule.ops.indexing import index_select
from chainrule.ops.recurrent_graph import PARTS, keep_past_the_end
from chainrule.ops.recurrent_layers import GRULayer, LSTMLayer, RNNLayer
from chainrule.ops.shape_extra import split, unbind
from chainrule.random import Generator
from chainrule.tensor import Tensor

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}
_SHORT = 8  # sequences up to this long are cut into steps directly (see time_steps)


def time_steps(x: Tensor, axis: int) -> list:
    """The slices of ``x`` along its time axis, in order.

    Each slice's gradient is an array of its source's shape; taking T steps from the whole
    sequence would cost T whole-sequence arrays in backward. Halving the sequence first keeps
    that to a few per step (T·log T work, not T²); without a gradient, slices are free.
    """
    n = x.shape[axis]
    if not x.requires_grad or n <= _SHORT:
        return list(unbind(x, axis))
    first, second = split(x, [n // 2, n - n // 2], axis=axis)
    return time_steps(first, axis) + time_steps(second, axis)


def _sizes_arg(batch_sizes) -> dict:
    """The layer op's keyword for a packed batch (none for a padded one: the plain call)."""
    return {} if batch_sizes is None else {"batch_sizes": batch_sizes}


def _as_tuple(state) -> tuple:
    return state if isinstance(state, tuple) else (state,)


def _reordered(states, order: np.ndarray, axis: int):
    """Each state tensor (or (h, c) pair, or list of them) with its batch axis in ``order``."""
    if isinstance(states, list):
        return [_reordered(state, order, axis) for state in states]
    if isinstance(states, tuple):
        return tuple(_reordered(state, order, axis) for state in states)
    return index_select(states, axis, order)


def _check_args(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size):
    """PyTorch's argument checks, with its error types."""
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Number):
        raise ValueError(f"dropout should be a number in range [0, 1], got {dropout!r}")
    if not 0 <= dropout <= 1:
        raise ValueError(
            f"dropout should be a number in range [0, 1] representing the probability of an "
            f"element being zeroed, got {dropout}"
        )
    if dropout > 0 and num_layers == 1:
        warnings.warn(  # PyTorch's warning
            f"dropout option adds dropout after all but last recurrent layer, so non-zero "
            f"dropout expects num_layers greater than 1, but got dropout={dropout} and "
            f"num_layers={num_layers}",
            stacklevel=4,
        )
    for name, value in (("bias", bias), ("batch_first", batch_first)):
        if not isinstance(value, bool):
            raise TypeError(f"{name} should be of type bool, got: {type(value).__name__}")
    layer = "LSTM" if mode == "LSTM" else mode[:3]
    check_size(input_size, "input_size", layer, 1)
    check_size(hidden_size, "hidden_size", layer, 1)
    check_size(num_layers, "num_layers", layer, 1)
    check_size(proj_size, "proj_size", layer, 0)
    if proj_size >= hidden_size:
        raise ValueError(f"proj_size has to be smaller than hidden_size, got {proj_size}")


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters per layer and direction, the argument and
    input checks, the time loop, dropout between layers and the output layout."""

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        super().__init__()
        check_device(device)
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        _check_args(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, proj_size
        )
        self.mode, self.input_size, self.hidden_size = mode, int(input_size), int(hidden_size)
        self.num_layers, self.bias, self.batch_first = int(num_layers), bias, batch_first
        self.dropout, self.bidirectional, self.proj_size = (
            float(dropout),
            bool(bidirectional),
            proj_size,
        )
        self._all_weights = []  # per layer and direction, the parameter names (PyTorch's)
        dtype = float_dtype(dtype)
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                self._add_parameters(layer, direction, dtype)
        self.reset_parameters(generator)

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def _output_size(self) -> int:
        """The size of h: hidden_size, or proj_size for an LSTM with projections."""
        return self.proj_size or self.hidden_size

    def _add_parameters(self, layer: int, direction: int, dtype) -> None:
        rows = _GATES[self.mode] * self.hidden_size
        width = self.input_size if layer == 0 else self._output_size * self.num_directions
        shapes = [("weight_ih", (rows, width)), ("weight_hh", (rows, self._output_size))]
        if self.bias:
            shapes += [("bias_ih", (rows,)), ("bias_hh", (rows,))]
        if self.proj_size:
            shapes.append(("weight_hr", (self.proj_size, self.hidden_size)))
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        for name, shape in shapes:
            setattr(self, name + suffix, Parameter(np.empty(shape, dtype)))
        self._all_weights.append([name + suffix for name, _ in shapes])

    def reset_parameters(self, generator: Generator | None = None) -> None:
        """Draw fresh weights: every parameter from U(−1/√hidden_size, 1/√hidden_size)."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -bound, bound, generator)

    # Weights are read by attribute, not from _parameters: a weight may be a plain tensor put
    # in its place, as PyTorch's RNNs allow (AWD-LSTM's weight drop deletes the Parameter and
    # sets a dropped-out copy before each forward).
    @property
    def _weight_dtype(self):
        return getattr(self, self._all_weights[0][0]).array.dtype

    @property
    def all_weights(self) -> list:
        """The parameters per layer and direction, as PyTorch's ``all_weights``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def flatten_parameters(self) -> None:
        """Nothing to do: PyTorch packs the weights for cuDNN here; NumPy needs no packing."""

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            text += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        if self.bias is not True:
            text += f", bias={self.bias}"
        if self.batch_first:
            text += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            text += f", dropout={self.dropout}"
        if self.bidirectional:
            text += f", bidirectional={self.bidirectional}"
        return text

    def _config(self) -> dict:
        """The constructor's arguments, for saving the architecture (``nn/registry``)."""
        args = {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bias": self.bias,
            "batch_first": self.batch_first,
            "dropout": self.dropout,
            "bidirectional": self.bidirectional,
            "dtype": str(self._weight_dtype),
        }
        if self.mode == "LSTM":
            args["proj_size"] = self.proj_size
        elif self.mode != "GRU":
            args["nonlinearity"] = self.nonlinearity
        return args

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's name
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        x, batched = self._input(input)
        batch = x.shape[0 if self.batch_first else 1]
        states = self._initial_states(hx, batched, batch, x.array.dtype)
        output, finals = self._layers(x, states, 1 if self.batch_first else 0)
        if not batched:
            output = output.squeeze(0 if self.batch_first else 1)
        return output, self._final_states(finals, batched)

    def _forward_packed(self, packed: PackedSequence, hx) -> tuple:
        """A packed batch: every sequence stops at its own last step (PyTorch's semantics).
        The layers run over the batch padded in sorted order (longest first), told how many
        rows are real at each step; hx and h_n are in the original batch order."""
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        sizes = batch_sizes.array
        x = self._packed_data(data, int(sizes.sum()))
        padded = pad_rows(x, sizes, sizes.size)  # (T, B, input_size), sorted order
        states = self._initial_states(hx, True, padded.shape[1], x.array.dtype)
        if hx is not None and sorted_indices is not None:
            states = _reordered(states, sorted_indices.array, 0)
        output, finals = self._layers(padded, states, 0, sizes)
        finals = self._final_states(finals, True)
        if unsorted_indices is not None:
            finals = _reordered(finals, unsorted_indices.array, 1)
        return packed._replace(data=pack_rows(output, sizes)), finals

    def _packed_data(self, data, rows: int) -> Tensor:
        """A packed batch's data checked: (sum of batch_sizes, input_size)."""
        name = type(self).__name__
        x = as_float_input(data, self._weight_dtype, name)
        if x.shape != (rows, self.input_size):
            raise ShapeError(
                f"{name}: a PackedSequence's data must be (sum of lengths={rows}, input_size="
                f"{self.input_size}), got shape {x.shape}"
            )
        return x

    def _layers(self, x: Tensor, states: list, time_axis: int, batch_sizes=None) -> tuple:
        """Every layer and direction over the 3-D ``x`` (time along ``time_axis``): (output
        in the same layout, final states). ``batch_sizes``: packed, the real rows per step."""
        if not _OP_BY_OP[0] and self.proj_size == 0:
            return self._whole_layers(x, states, time_axis, batch_sizes)
        # Each step projects its own input (linear(x_t, W_ih) in the step): projecting the whole
        # sequence in one product would leave a projection that requires grad to be cut into
        # steps, and every cut's gradient is an array of the whole projection's size; measured,
        # T small products were as fast or faster in a small measurement (30 to 200 steps).
        steps = time_steps(x, time_axis)
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                drop = Dropout(self.dropout)
                steps = [drop(step) for step in steps]
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                names = self._all_weights[index]
                seq, final = self._run(steps, names, states[index], direction, batch_sizes)
                outputs.append(seq)
                finals.append(final)
            steps = (
                outputs[0] if len(outputs) == 1 else [ops.cat(pair, -1) for pair in zip(*outputs)]
            )
        return ops.stack(steps, axis=time_axis), finals

    def _whole_layers(self, x: Tensor, states: list, time_axis: int, batch_sizes) -> tuple:
        """Every layer and direction as one op each: (output, final states)."""
        seq = x.transpose(0, 1) if time_axis else x  # (T, B, features)
        finals = []
        for layer in range(self.num_layers):
            if layer > 0 and self.dropout > 0 and self.training:
                seq = Dropout(self.dropout)(seq)
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                weights = [getattr(self, name) for name in self._all_weights[index]]
                out, final = self._layer(seq, states[index], weights, bool(direction), batch_sizes)
                outputs.append(out)
                finals.append(final)
            seq = outputs[0] if len(outputs) == 1 else ops.cat(outputs, -1)
        return (seq.transpose(0, 1) if time_axis else seq), finals

    def _layer(self, seq: Tensor, state, weights: list, reverse: bool, batch_sizes) -> tuple:
        """One layer in one direction over the whole (T, B, features) sequence, one op:
        (outputs (T, B, hidden), final state). ``batch_sizes``: packed, the real rows per step
        (a row past its end keeps its state, so the last output is each row's final state)."""
        raise NotImplementedError

    def _run(self, steps: list, names: list, state, direction: int, batch_sizes=None) -> tuple:
        """One layer in one direction over the whole sequence: (outputs in time order, state).
        ``batch_sizes``: packed, the real rows per step; the others keep their state."""
        weights = [getattr(self, name) for name in names]
        outputs = []
        parts, last = PARTS[0], len(steps) - 1
        for k, x in enumerate(reversed(steps) if direction else steps):
            t = last - k if direction else k
            if parts is not None:  # cr.explain names the gates: t2.i, l1_reverse.t0.c, ...
                parts.where = self._step_prefix(names[0]) + f"t{t}."
            old = state
            state = self._step(x, state, weights)
            if batch_sizes is not None:
                kept = keep_past_the_end(_as_tuple(state), _as_tuple(old), int(batch_sizes[t]))
                state = kept if isinstance(state, tuple) else kept[0]
            outputs.append(state[0] if isinstance(state, tuple) else state)
        return (outputs[::-1] if direction else outputs), state

    def _step(self, x, state, weights):
        raise NotImplementedError

    def _step_prefix(self, weight_name: str) -> str:
        """``l1_reverse.`` for layer 1's reverse direction (from ``weight_ih_l1_reverse``);
        nothing for a one-layer, one-direction RNN."""
        if self.num_layers == 1 and self.num_directions == 1:
            return ""
        return weight_name.removeprefix("weight_ih_") + "."

    def _final_states(self, finals: list, batched: bool):
        h_n = ops.stack(finals, axis=0)
        return h_n if batched else h_n.squeeze(1)

    # ---- input checks -------------------------------------------------------------------------
    def _input(self, input) -> tuple[Tensor, bool]:  # noqa: A002
        """The input as a 3-D tensor of the parameters' dtype, and whether it had a batch axis."""
        name = type(self).__name__
        x = as_float_input(input, self._weight_dtype, name)
        layout = (
            "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
        )
        if x.ndim not in (2, 3):
            raise ShapeError(
                f"{name}: Expected input to be 2D or 3D, got {x.ndim}D instead (shape {x.shape}); "
                f"expected {layout}, or (seq_len, input_size) for one unbatched sequence"
            )
        if x.shape[-1] != self.input_size:
            raise ShapeError(
                f"{name}: input.size(-1) must be equal to input_size. Expected {self.input_size}, "
                f"got {x.shape[-1]} (input of shape {x.shape}, read as {layout})"
            )
        if x.shape[1 if self.batch_first and x.ndim == 3 else 0] == 0:
            raise ShapeError(
                f"{name}: Expected sequence length to be larger than 0 in RNN (input of shape "
                f"{x.shape}, read as {layout})"
            )
        if x.ndim == 2:
            return x.unsqueeze(0 if self.batch_first else 1), False
        return x, True

    def _state_tensor(self, state, batched: bool, batch: int, size: int, dtype, what: str):
        """A given initial state checked and made 3-D: (layers·directions, batch, size)."""
        name = type(self).__name__
        state = as_float_input(state, dtype, name)
        expected = (self.num_layers * self.num_directions, batch, size)
        if state.ndim != (3 if batched else 2):
            kind = "batched 3-D" if batched else "unbatched 2-D"
            raise ShapeError(
                f"{name}: For {kind} input, {what} should also be {3 if batched else 2}-D but "
                f"got {state.ndim}-D tensor (shape {state.shape}); expected "
                f"{expected if batched else (expected[0], size)}"
            )
        if not batched:
            state = state.unsqueeze(1)
        if state.shape != expected:
            size_name = "hidden_size" if size == self.hidden_size else "proj_size"
            raise ShapeError(
                f"{name}: Expected {what} size {expected}, got {state.shape}: "
                f"(num_layers * num_directions, batch, {size_name})"
            )
        return state

    def _initial_states(self, hx, batched: bool, batch: int, dtype) -> list:
        count = self.num_layers * self.num_directions
        if hx is None:
            zeros = zero_state((batch, self._output_size), dtype)
            return [zeros] * count
        if isinstance(hx, (tuple, list)):
            raise TypeError(
                f"{type(self).__name__}: hx must be one tensor (h_0), got a {type(hx).__name__}; "
                f"only LSTM takes a tuple (h_0, c_0)"
            )
        return list(
            unbind(self._state_tensor(hx, batched, batch, self.hidden_size, dtype, "hidden"), 0)
        )


class RNN(RNNBase):
    """An Elman RNN over a sequence: h_t = tanh(W_ih x_t + b_ih + W_hh h_(t−1) + b_hh) per
    layer (relu in place of tanh on request), as PyTorch's ``nn.RNN``.

    Args:
        input_size, hidden_size: features of the input and of the hidden state.
        num_layers: stacked layers, each reading the one below's outputs.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: learn ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
        batch_first: input and output are (batch, seq, feature) instead of (seq, batch, feature).
        dropout: dropout on each layer's outputs but the last's, in training mode only.
        bidirectional: a second pass over the reversed sequence (``..._reverse`` parameters).
        dtype: parameter dtype, float32 or float64; by default ``cr.get_default_dtype()``.
        generator: a :class:`chainrule.Generator` for the initial weights.

    Shape:
        input (L, N, H_in), (N, L, H_in) with batch_first, or (L, H_in) unbatched; h_0
        (D·num_layers, N, H_out) or (D·num_layers, H_out), zeros when omitted →
        output (L, N, D·H_out) (batch_first: (N, L, D·H_out)) and h_n like h_0; D = 2 if
        bidirectional else 1. A ``PackedSequence`` input (``pack_padded_sequence``) gives a
        packed output and h_n at each sequence's own last step, in the original order.

    Example:
        >>> import chainrule as cr
        >>> rnn = cr.nn.RNN(10, 20, 2)
        >>> output, h_n = rnn(cr.randn(5, 3, 10))
        >>> output.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        generator: Generator | None = None,
        proj_size=None,
    ):
        if proj_size is not None:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if nonlinearity not in NONLINEARITIES:
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        args = (num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)
        super().__init__(mode, input_size, hidden_size, *args, generator)

    def _step(self, x, h, weights):
        w_ih, w_hh, b_ih, b_hh = weights if self.bias else (*weights, None, None)
        return rnn_step(x, h, w_ih, w_hh, b_ih, b_hh, self.nonlinearity)

    def _layer(self, seq, state, weights, reverse, batch_sizes):
        relu, sizes = self.nonlinearity == "relu", _sizes_arg(batch_sizes)
        out = RNNLayer.apply(seq, state, *weights, relu=relu, reverse=reverse, **sizes)
        return out, out[0 if reverse else -1]


class GRU(RNNBase):
    """A multi-layer gated recurrent unit over a sequence, as PyTorch's ``nn.GRU`` (gates r, z,
    n in ``weight_ih_l{k}``; see :class:`GRUCell` for the step).

    Args, shapes: as :class:`RNN`, without ``nonlinearity``.

    Example:
        >>> import chainrule as cr
        >>> gru = cr.nn.GRU(10, 20, batch_first=True, bidirectional=True)
        >>> output, h_n = gru(cr.randn(3, 5, 10))
        >>> output.shape, h_n.shape
        ((3, 5, 40), (2, 3, 20))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device=None,
        dtype=None,
        generator: Generator | None = None,
        proj_size=None,
    ):
        if proj_size is not None:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        args = (num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype)
        super().__init__("GRU", input_size, hidden_size, *args, generator)

    def _step(self, x, h, weights):
        w_ih, w_hh, b_ih, b_hh = weights if self.bias else (*weights, None, None)
        return gru_step(x, h, w_ih, w_hh, b_ih, b_hh)

    def _layer(self, seq, state, weights, reverse, batch_sizes):
        out = GRULayer.apply(seq, state, *weights, reverse=reverse, **_sizes_arg(batch_sizes))
        return out, out[0 if reverse else -1]


class LSTM(RNNBase):
    """A multi-layer long short-term memory over a sequence, as PyTorch's ``nn.LSTM`` (gates
    i, f, g, o in ``weight_ih_l{k}``; see :class:`LSTMCell` for the step).

    Args: as :class:`RNN`, without ``nonlinearity``, and
        proj_size: when > 0, h is projected to this size by ``weight_hr_l{k}`` after each step
            (PyTorch's LSTM with projections); c keeps hidden_size.

    Shape:
        input as :class:`RNN`; hx = (h_0, c_0), h_0 (D·num_layers, N, H_out) and c_0
        (D·num_layers, N, hidden_size) (without N unbatched), zeros when omitted → output
        (L, N, D·H_out) and (h_n, c_n) shaped as (h_0, c_0); H_out is proj_size if set, else
        hidden_size.

    Example:
        >>> import chainrule as cr
        >>> lstm = cr.nn.LSTM(10, 20, num_layers=2)
        >>> output, (h_n, c_n) = lstm(cr.randn(5, 3, 10))
        >>> output.shape, h_n.shape, c_n.shape
        ((5, 3, 20), (2, 3, 20), (2, 3, 20))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device=None,
        dtype=None,
        generator: Generator | None = None,
    ):
        args = (num_layers, bias, batch_first, dropout, bidirectional, proj_size, device, dtype)
        super().__init__("LSTM", input_size, hidden_size, *args, generator)

    def _step(self, x, state, weights):
        w_ih, w_hh = weights[:2]
        b_ih, b_hh = weights[2:4] if self.bias else (None, None)
        w_hr = weights[-1] if self.proj_size else None
        return lstm_step(x, *state, w_ih, w_hh, b_ih, b_hh, w_hr)

    def _layer(self, seq, state, weights, reverse, batch_sizes):
        sizes = _sizes_arg(batch_sizes)
        packed = LSTMLayer.apply(seq, *state, *weights, reverse=reverse, **sizes)
        steps = seq.shape[0]
        return packed[:steps], (packed[0 if reverse else steps - 1], packed[steps])

    def _final_states(self, finals: list, batched: bool):
        h_n = ops.stack([h for h, _ in finals], axis=0)
        c_n = ops.stack([c for _, c in finals], axis=0)
        return (h_n, c_n) if batched else (h_n.squeeze(1), c_n.squeeze(1))

    def _initial_states(self, hx, batched: bool, batch: int, dtype) -> list:
        count = self.num_layers * self.num_directions
        if hx is None:
            h = zero_state((batch, self._output_size), dtype)
            c = zero_state((batch, self.hidden_size), dtype) if self.proj_size else h
            return [(h, c)] * count
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(
                f"LSTM: hx must be a tuple (h_0, c_0) of two tensors, got {type(hx).__name__}"
            )
        h0 = self._state_tensor(hx[0], batched, batch, self._output_size, dtype, "hidden[0]")
        c0 = self._state_tensor(hx[1], batched, batch, self.hidden_size, dtype, "hidden[1]")
        return list(zip(unbind(h0, 0), unbind(c0, 0)))
