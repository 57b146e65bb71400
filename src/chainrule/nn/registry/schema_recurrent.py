"""The schemas of the recurrent layers a saved architecture may name: RNN, LSTM, GRU and their
cells, with every constructor option PyTorch's take."""

from __future__ import annotations

from chainrule.nn.recurrent import GRU, LSTM, RNN
from chainrule.nn.recurrent_cells import GRUCell, LSTMCell, RNNCell
from chainrule.nn.registry.checks import (
    _bool,
    _choice,
    _dtype,
    _positive_size,
    _probability,
    _size,
)

_NONLINEARITY = _choice("tanh", "relu")
_SEQUENCE_ARGS = {
    "input_size": _positive_size,
    "hidden_size": _positive_size,
    "num_layers": _positive_size,
    "bias": _bool,
    "batch_first": _bool,
    "dropout": _probability,
    "bidirectional": _bool,
    "dtype": _dtype,
}
_CELL_ARGS = {"input_size": _size, "hidden_size": _size, "bias": _bool, "dtype": _dtype}

LAYERS: dict[str, tuple[type, dict]] = {
    "RNN": (RNN, _SEQUENCE_ARGS | {"nonlinearity": _NONLINEARITY}),
    "LSTM": (LSTM, _SEQUENCE_ARGS | {"proj_size": _size}),
    "GRU": (GRU, _SEQUENCE_ARGS),
    "RNNCell": (RNNCell, _CELL_ARGS | {"nonlinearity": _NONLINEARITY}),
    "LSTMCell": (LSTMCell, _CELL_ARGS),
    "GRUCell": (GRUCell, _CELL_ARGS),
}
REQUIRED = dict.fromkeys(LAYERS, ("input_size", "hidden_size"))
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3, "RNNCell": 1, "LSTMCell": 4, "GRUCell": 3}


def recurrent_parameter_count(kind: str, args: dict) -> int:
    """How many numbers a recurrent layer allocates (weights, biases, LSTM's projections)."""
    rows = GATES[kind] * args.get("hidden_size", 0)
    width_in, hidden = args.get("input_size", 0), args.get("hidden_size", 0)
    bias = 2 * rows if args.get("bias", True) else 0
    if kind.endswith("Cell"):
        return rows * (width_in + hidden) + bias
    out = args.get("proj_size", 0) or hidden
    directions = 2 if args.get("bidirectional", False) else 1
    projection = args.get("proj_size", 0) * hidden
    first = rows * (width_in + out) + bias + projection
    later = rows * (out * directions + out) + bias + projection  # each reads both directions
    return directions * (first + (args.get("num_layers", 1) - 1) * later)
