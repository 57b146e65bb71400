"""ONNX converters for nn.RNN, nn.LSTM and nn.GRU: one ONNX ``RNN``/``LSTM``/``GRU`` node per
layer (stacked layers are stacked nodes), with PyTorch's layouts restored around them.

PyTorch and ONNX store the same numbers in different orders: ONNX's LSTM gates are i, o, f, c
(PyTorch's i, f, g, o), its GRU gates z, r, h (PyTorch's r, z, n, whose candidate applies the
reset gate after the hidden projection: ``linear_before_reset=1``). ONNX's ``Y`` is
(seq, directions, batch, hidden); PyTorch's output is (seq, batch, directions·hidden), and its
h_n (layers·directions, batch, hidden) is the layers' ``Y_h`` concatenated.
"""

from __future__ import annotations

import numpy as np

from chainrule import nn
from chainrule.onnx.converters import _as_dtype, register_converter

# PyTorch's gate blocks, in ONNX's order
_GATE_ORDER = {"LSTM": [0, 3, 1, 2], "GRU": [1, 0, 2]}
_OPS = {"RNN_TANH": "RNN", "RNN_RELU": "RNN", "LSTM": "LSTM", "GRU": "GRU"}


def _reorder(array: np.ndarray, mode: str) -> np.ndarray:
    """A (gates·hidden, ...) weight or bias with its gate blocks in ONNX's order."""
    order = _GATE_ORDER.get(mode)
    if order is None:
        return array
    blocks = np.split(array, len(order), axis=0)
    return np.concatenate([blocks[i] for i in order], axis=0)


def _layer_weights(m, layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """ONNX's W (dirs, gates·H, in), R (dirs, gates·H, H) and B (dirs, 2·gates·H) of one layer."""
    ws, rs, bs = [], [], []
    for direction in range(m.num_directions):
        names = m._all_weights[layer * m.num_directions + direction]
        params = [np.asarray(m._parameters[name].array) for name in names]
        ws.append(_reorder(params[0], m.mode))
        rs.append(_reorder(params[1], m.mode))
        if m.bias:
            bs.append(np.concatenate([_reorder(params[2], m.mode), _reorder(params[3], m.mode)]))
    return np.stack(ws), np.stack(rs), (np.stack(bs) if m.bias else None)


def _check_exportable(m, dtype) -> None:
    name = type(m).__name__
    if getattr(m, "proj_size", 0):
        raise ValueError(
            f"{name}(proj_size={m.proj_size}) has no ONNX export: ONNX's LSTM operator has no "
            f"projection of h; export an LSTM with proj_size=0"
        )
    if np.dtype(dtype) != np.float32:
        raise ValueError(
            f"{name} in {np.dtype(dtype)} has no ONNX export that ONNX Runtime runs (its RNN, "
            f"LSTM and GRU kernels are float32 only); convert the model first: "
            f"model.to(cr.float32)"
        )


def _axes(g, *axes: int) -> str:
    return g.const(np.array(axes, np.int64), "axes")


def _layer(g, m, x: str, layer: int, dtype) -> tuple[str, ...]:
    """One ONNX node for ``layer`` (both directions): its Y, Y_h (and Y_c for an LSTM)."""
    w, r, b = _layer_weights(m, layer)
    inputs = [x, g.const(w, f"weight_ih_l{layer}"), g.const(r, f"weight_hh_l{layer}")]
    if b is not None:
        inputs.append(g.const(b, f"bias_l{layer}"))
    attributes = {
        "hidden_size": int(m.hidden_size),
        "direction": "bidirectional" if m.bidirectional else "forward",
    }
    if m.mode.startswith("RNN_"):
        activation = "Tanh" if m.mode == "RNN_TANH" else "Relu"
        attributes["activations"] = [activation] * m.num_directions
    if m.mode == "GRU":
        attributes["linear_before_reset"] = 1
    outputs = 3 if m.mode == "LSTM" else 2
    return g.add(
        _OPS[m.mode], inputs, outputs=outputs, name=f"{_OPS[m.mode]}_l{layer}", **attributes
    )


@register_converter(nn.RNN, nn.LSTM, nn.GRU)
def _recurrent(g, m, x, out):
    dtype = out[0].dtype
    _check_exportable(m, dtype)
    batched = x.array.ndim == 3
    seq = _as_dtype(g, x, dtype)
    if not batched:  # one sequence: a batch of one, taken off again at the end
        seq = g.add("Unsqueeze", [seq, _axes(g, 0 if m.batch_first else 1)])
    if m.batch_first:  # ONNX reads (seq, batch, features)
        seq = g.add("Transpose", [seq], perm=[1, 0, 2])
    finals = [[] for _ in range(3 if m.mode == "LSTM" else 2)]
    for layer in range(m.num_layers):
        y, *states = _layer(g, m, seq, layer, dtype)
        for kept, state in zip(finals[1:], states):
            kept.append(state)
        # (seq, dirs, batch, H) -> (seq, batch, dirs·H): each step's directions side by side
        y = g.add("Transpose", [y], perm=[0, 2, 1, 3])
        seq = g.add("Reshape", [y, g.const(np.array([0, 0, -1], np.int64), "shape")])
    if m.batch_first:
        seq = g.add("Transpose", [seq], perm=[1, 0, 2])
    states = [kept[0] if len(kept) == 1 else g.add("Concat", kept, axis=0) for kept in finals[1:]]
    if not batched:
        seq = g.add("Squeeze", [seq, _axes(g, 0 if m.batch_first else 1)])
        states = [g.add("Squeeze", [state, _axes(g, 1)]) for state in states]
    if m.mode == "LSTM":
        return seq, (states[0], states[1])
    return seq, states[0]


_recurrent.returns_tuple = True  # convert_module passes (output, h_n) on as a tuple of Values
# The batch axis of the input: second for a sequence-first layer (the first is its sequence),
# none for one unbatched sequence; the free "batch" dimension goes there.
_recurrent.batch_axes = lambda m, arrays: {
    name: 0 if m.batch_first else 1 for name, a in arrays.items() if np.ndim(a) == 3
}
