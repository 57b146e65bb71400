"""A small helper that collects ONNX nodes, constants and names while a model is walked."""

from __future__ import annotations

import numpy as np


def require_onnx():
    """Import ``onnx`` or say which extra to install."""
    try:
        import onnx
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError(
            'ONNX export needs the onnx package: pip install "chainrule[onnx]"'
        ) from None
    return onnx


class Graph:
    """Nodes, initializers and unique names for one ONNX graph at one opset.

    ``add(op, inputs, **attributes)`` appends a node and returns its output's name;
    ``const(array)`` stores an initializer and returns its name. Names carry the dotted path
    of the chainrule layer they come from (``"0.weight"``, ``"2/Relu"``), so a graph viewer
    (Netron) shows which layer made which node.
    """

    def __init__(self, opset: int):
        self.onnx = require_onnx()
        self.opset = opset
        self.nodes: list = []
        self.initializers: list = []
        self.ml_domain = False  # set when an ai.onnx.ml operator is used
        self._used: set[str] = set()
        self.scope = ""

    def name(self, base: str) -> str:
        """A name not used yet in this graph, built from ``base`` and the current scope."""
        base = f"{self.scope}/{base}" if self.scope else base
        name, i = base, 1
        while name in self._used:
            name = f"{base}_{i}"
            i += 1
        self._used.add(name)
        return name

    def reserve(self, name: str) -> str:
        """Claim an exact name (a graph input or output)."""
        if name in self._used:
            raise ValueError(f"the name {name!r} is used twice in the ONNX graph")
        self._used.add(name)
        return name

    def const(self, array, base: str = "const", dtype=None) -> str:
        """An initializer holding ``array`` (kept exactly, in its own dtype unless ``dtype``)."""
        array = np.asarray(array) if dtype is None else np.asarray(array, dtype=dtype)
        if array.dtype.kind == "U" or array.dtype == object:
            tensor = self.onnx.helper.make_tensor(
                "",
                self.onnx.TensorProto.STRING,
                array.shape,
                [str(v).encode("utf-8") for v in array.reshape(-1)],
            )
        else:
            # ascontiguousarray makes a 0-d array 1-d: keep the shape (a scalar index drops
            # Gather's axis; a one-element list keeps it)
            contiguous = np.ascontiguousarray(array).reshape(array.shape)
            tensor = self.onnx.numpy_helper.from_array(contiguous)
        tensor.name = self.name(base)
        self.initializers.append(tensor)
        return tensor.name

    def add(self, op: str, inputs, outputs: int = 1, name=None, domain=None, **attributes):
        """Append node ``op`` and return its output name (a tuple when ``outputs`` > 1)."""
        out_names = [self.name(f"{name or op}_out") for _ in range(outputs)]
        node = self.onnx.helper.make_node(
            op, list(inputs), out_names, name=self.name(name or op), domain=domain, **attributes
        )
        if domain == "ai.onnx.ml":
            self.ml_domain = True
        self.nodes.append(node)
        return out_names[0] if outputs == 1 else tuple(out_names)

    def scalar(self, value, dtype, base: str = "scalar") -> str:
        return self.const(np.asarray(value, dtype=dtype), base)

    def reduce_mean(self, x: str, axes, keepdims: bool = True) -> str:
        """ReduceMean over ``axes``; the axes moved from an attribute to an input at opset 18."""
        return self.reduce("ReduceMean", x, axes, keepdims)

    def reduce(self, op: str, x: str, axes, keepdims: bool = True) -> str:
        """``op`` (ReduceMean, ReduceMax, ...) over ``axes``, an input from opset 18."""
        axes = [int(a) for a in axes]
        if self.opset >= 18:
            return self.add(
                op, [x, self.const(np.array(axes, np.int64), "axes")], keepdims=int(keepdims)
            )
        return self.add(op, [x], axes=axes, keepdims=int(keepdims))

    def ints(self, values, base: str = "ints") -> str:
        """A 1-D int64 constant (shapes, axes, permutations as inputs)."""
        return self.const(np.array(values, np.int64).reshape(-1), base)
