"""The chain rule on a recorded graph: the layers of a network, names for every number, the
local factors along each path from a parameter to the loss, and the deltas δ = ∂E/∂z."""

from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass, field

import numpy as np

from chainrule.explain.graph import Graph
from chainrule.ops.elementwise import Add
from chainrule.ops.matmul import Linear as LinearOp
from chainrule.ops.matmul import MatMul
from chainrule.tensor import Tensor


# ---- layers -----------------------------------------------------------------------------------
@dataclass
class Layer:
    """One fully connected layer as the graph recorded it: z = x·Wᵀ + b, a = f(z)."""

    index: int  # 1-based
    op: object  # the Linear op
    x: Tensor
    weight: Tensor
    bias: Tensor | None
    bias_op: object | None  # an Add op, for a bias added after a bias-free linear
    z: Tensor
    acts: list = field(default_factory=list)
    a: Tensor | None = None

    @property
    def width(self) -> int:
        return self.weight.array.shape[0]

    @property
    def fan_in(self) -> int:
        return self.weight.array.shape[1]

    @property
    def act_label(self) -> str:
        return " ∘ ".join(_act_name(fn) for fn in self.acts) or "identity"


def _act_name(fn) -> str:
    """An activation op's class name, with the numbers it was called with: ``ELU (α = 0.7)``
    (not a definition such as GELUTanh's ``t = tanh(…)``, which its formula carries)."""
    constants = getattr(fn, "explained_constants", None)
    name = getattr(fn, "explained_name", None) or type(fn).__name__
    text = constants() if callable(constants) else ""
    numbers = re.fullmatch(r"[^,=()]+ = [-0-9.e+inf]+(, [^,=()]+ = [-0-9.e+inf]+)*", text)
    return f"{name} ({text})" if numbers else name


def _is_elementwise(graph: Graph, fn, current: Tensor) -> bool:
    """A one-input op whose output element j depends on input element j only."""
    out = graph.output_of[fn]
    if (
        len(fn.parents) != 1
        or fn.parents[0] is not current
        or out.array.shape != current.array.shape
    ):
        return False
    if not fn.needs_grad or not fn.needs_grad[0]:
        return False
    n = out.array.size
    for j in {0, n - 1}:
        grad = graph.local_row(fn, j)[0]
        if grad is None:
            return False
        nonzero = np.flatnonzero(grad.reshape(-1))
        if nonzero.size and not (nonzero.size == 1 and nonzero[0] == j):
            return False
    return True


def detect_layers(graph: Graph, x: Tensor, out: Tensor | None = None) -> list[Layer] | None:
    """The chain x → Linear → activation(s) → Linear → ... at the start of the graph, or None.

    The ops after the chain (up to the root) form the loss. Returns None when the graph is not
    such a chain (the report then explains it op by op).
    """
    layers: list[Layer] = []
    current = x
    n_chain = 0
    end = out
    for fn in graph.ops:
        if current is end:
            break  # the model's output: what follows is the loss
        out = graph.output_of[fn]
        params = fn.parents
        if (
            isinstance(fn, LinearOp)
            and params[0] is current
            and all(p._ctx is None for p in params[1:])
        ):
            bias = params[2] if len(params) == 3 else None
            layers.append(Layer(len(layers) + 1, fn, current, params[1], bias, None, out, [], out))
        elif (
            layers
            and isinstance(fn, Add)
            and params[0] is current
            and current is layers[-1].z
            and layers[-1].bias is None
            and params[1]._ctx is None
            and out.array.shape == current.array.shape
        ):
            layers[-1].bias, layers[-1].bias_op = params[1], fn
            layers[-1].z = layers[-1].a = out
        elif layers and _is_elementwise(graph, fn, current):
            layers[-1].acts.append(fn)
            layers[-1].a = out
        else:
            break
        current = out
        n_chain += 1
    if not layers:
        return None
    # Every chain tensor but the last feeds only the next op of the chain.
    chain = [graph.output_of[fn] for fn in graph.ops[:n_chain]]
    for t in chain[:-1]:
        if len(graph.consumers.get(id(t), ())) != 1:
            return None
    return layers


# ---- names ------------------------------------------------------------------------------------
def view_of_input(t: Tensor, x: Tensor):
    """``(name, to_x)`` where constant ``t`` is a view of the input ``x``: one index of one axis
    (a recurrent layer's time step, ``x[:, 2]``) or its axes reordered (attention's sequence-
    first copy, ``x.permute(1, 0, 2)``); ``to_x`` maps an index of ``t`` to one of ``x``. None
    for anything else."""
    a, b = x.array, t.array
    if t is x or not np.may_share_memory(a, b):  # the bounds; the strides below say exactly
        return None
    offset = b.__array_interface__["data"][0] - a.__array_interface__["data"][0]
    if b.ndim == a.ndim - 1:
        for axis in range(a.ndim):
            shape = a.shape[:axis] + a.shape[axis + 1 :]
            strides = a.strides[:axis] + a.strides[axis + 1 :]
            step = a.strides[axis]
            if b.shape != shape or b.strides != strides or step == 0 or offset % step:
                continue
            at = offset // step
            if 0 <= at < a.shape[axis]:
                name = "x[" + ":, " * axis + f"{at}]"
                return name, lambda index, axis=axis, at=at: (*index[:axis], at, *index[axis:])
    if b.ndim == a.ndim and offset == 0:
        pairs = sorted((stride, n, k) for k, (stride, n) in enumerate(zip(a.strides, a.shape)))
        order = sorted((stride, n, k) for k, (stride, n) in enumerate(zip(b.strides, b.shape)))
        if [p[:2] for p in pairs] == [o[:2] for o in order] and len(set(a.strides)) == a.ndim:
            perm = [0] * a.ndim  # axis k of t is axis perm[k] of x
            for (_, _, ax), (_, _, bx) in zip(pairs, order):
                perm[bx] = ax
            if perm != list(range(a.ndim)):

                def to_x(index, perm=perm):
                    out = [0] * len(perm)
                    for k, v in enumerate(index):
                        out[perm[k]] = v
                    return tuple(out)

                return f"x.permute{tuple(perm)}", to_x
    return None


def index_text(shape: tuple, i: int) -> str:
    if not shape:
        return ""
    idx = np.unravel_index(i, shape)
    return "[" + ", ".join(str(int(v)) for v in idx) + "]"


class Naming:
    """Names for every tensor element in the graph: dotted parameter names with an index by
    default (``0.weight[1, 0]``, ``z1[0]``, ``a2[1]``), or the classic textbook names
    (``w1…w8``, ``b1``, ``net_h1``, ``out_o1``) with ``classic=True``."""

    def __init__(self, graph, layers, param_names: dict, x, y, classic: bool = False, outputs=None):
        self.graph = graph
        self.layers = layers
        self.param_names = param_names  # id -> dotted name
        self.x, self.y = x, y
        self.classic = classic
        self.base: dict[int, str] = {}
        self.batch = x.array.shape[0] if (layers and x is not None and x.array.ndim > 1) else 1
        self.elements: dict[str, tuple] = {}  # classic element name -> (tensor, flat index)
        self._custom: dict[tuple, str] = {}
        self._views: dict = {}  # id(view of x) -> its index mapped to x's
        if layers:
            for layer in layers:
                if layer.bias_op is not None:
                    self.base[id(layer.op and graph.output_of[layer.op])] = f"Wa{layer.index}"
                if layer.a is not layer.z:
                    self.base[id(layer.a)] = f"a{layer.index}"
                self.base[id(layer.z)] = f"z{layer.index}"
        if x is not None:
            self.base[id(x)] = "x"
        if y is not None:
            self.base[id(y)] = "t"
        for t in graph.tensors:
            if id(t) in param_names:
                self.base[id(t)] = param_names[id(t)]
            elif id(t) not in self.base:
                if t.name:
                    self.base[id(t)] = t.name
                elif outputs and id(t) in outputs:  # a layer's output: "3.out"
                    self.base[id(t)] = outputs[id(t)]
                elif t._ctx is None and x is not None and view_of_input(t, x):
                    # a time step of x ("x[:, 1]"), its elements named as x's own
                    self.base[id(t)], self._views[id(t)] = view_of_input(t, x)
                elif t._ctx is None:
                    self.base[id(t)] = f"c{graph.index[id(t)]}"
                else:
                    self.base[id(t)] = f"v{graph.index[id(t)]}"
        self.base[id(graph.root)] = "E"
        if classic:
            self._classic()

    def neuron(self, layer: Layer, j: int) -> str:
        if layer.index == len(self.layers):
            return f"o{j + 1}"
        if len(self.layers) == 2:
            return f"h{j + 1}"
        return f"h{layer.index}{j + 1}" if layer.width < 10 else f"h{layer.index}_{j + 1}"

    def _classic(self):
        layers = self.layers
        for k in range(self.x.array.shape[-1]):
            self._custom[(id(self.x), k)] = f"i{k + 1}"
        w_count = b_count = 0
        for layer in layers:
            last = layer.index == len(layers)
            for j in range(layer.width):
                n = self.neuron(layer, j)
                self._custom[(id(layer.z), j)] = f"net_{n}"
                if layer.a is not layer.z:
                    self._custom[(id(layer.a), j)] = f"out_{n}"
                if last and self.y is not None and self.y.array.size == layer.width:
                    self._custom[(id(self.y), j)] = f"target_{n}"
            for i in range(layer.weight.array.size):
                w_count += 1
                self._custom[(id(layer.weight), i)] = f"w{w_count}"
            if layer.bias is not None:
                if layer.bias.array.size == 1:
                    self._custom[(id(layer.bias), 0)] = f"b{layer.index}"
                else:
                    for i in range(layer.bias.array.size):
                        b_count += 1
                        self._custom[(id(layer.bias), i)] = f"b{b_count}"
        for (tid, i), name in self._custom.items():
            for t in (self.x, *[p for layer in layers for p in (layer.weight, layer.bias)]):
                if t is not None and id(t) == tid:
                    self.elements[name] = (t, i)

    def tensor(self, t: Tensor) -> str:
        return self.base.get(id(t), "?")

    def elem(self, t: Tensor, i: int) -> str:
        custom = self._custom.get((id(t), i))
        if custom is not None:
            return custom
        if id(t) in self._views:  # x[:, 1][0, 0] is x[0, 1, 0]
            index = self._views[id(t)](np.unravel_index(i, t.array.shape))
            return self.elem(self.x, int(np.ravel_multi_index(index, self.x.array.shape)))
        shape = t.array.shape
        base = self.base.get(id(t), "?")
        if t is self.graph.root or not shape:
            return base
        if self.layers and self.batch == 1 and (t is self.x or self._is_activation(t)):
            # one sample: drop the sample index, z1[0, 1] → z1[1]
            return (
                base + index_text(shape[1:], i) if len(shape) > 1 else base + index_text(shape, i)
            )
        return base + index_text(shape, i)

    def _is_activation(self, t: Tensor) -> bool:
        return any(t is layer.z or t is layer.a for layer in self.layers) or t is self.y

    # ---- parsing a parameter name ---------------------------------------------------------
    def parse(self, name: str, params: list) -> tuple[Tensor, int]:
        """``"0.weight[1, 0]"`` (or ``"w5"`` with classic names) → (tensor, flat index)."""
        text = str(name).strip()
        if text in self.elements:
            return self.elements[text]
        m = re.fullmatch(r"(.+?)\s*(?:\[([-\d,\s]*)\])?", text)
        by_name = {self.param_names[id(p)]: p for p in params if id(p) in self.param_names}
        if m and m.group(1) in by_name:
            t = by_name[m.group(1)]
            shape = t.array.shape
            try:
                idx = tuple(int(v) for v in m.group(2).split(",")) if m.group(2) else ()
            except ValueError:
                idx = None
            if idx is not None and not idx and t.array.size == 1:
                return t, 0
            if (
                idx is not None
                and len(idx) == len(shape)
                and all(-n <= v < n for v, n in zip(idx, shape))
            ):
                return t, int(np.ravel_multi_index(tuple(v % n for v, n in zip(idx, shape)), shape))
        if m and m.group(1) in by_name:  # a parameter's name with no index, or a wrong one
            raise ValueError(
                f"unknown parameter element {name!r}: {m.group(1)} is a parameter, so give the "
                f"index of one of its elements, within its shape; valid names: "
                f"{self.valid_names(params)}"
            )
        raise ValueError(f"unknown parameter {name!r}; valid names: {self.valid_names(params)}")

    def valid_names(self, params: list) -> str:
        parts = []
        for p in params:
            name = self.param_names.get(id(p), "?")
            shape = p.array.shape
            if not shape:
                parts.append(name)
            elif p.array.size == 1:
                parts.append(name + index_text(shape, 0))
            else:
                letters = "ijkl"[: len(shape)]
                bounds = ", ".join(f"{c} < {n}" for c, n in zip(letters, shape))
                parts.append(f"{name}[{', '.join(letters)}] with {bounds}")
        if self.elements:
            classic = [n for n in self.elements if not n.startswith("i")]
            parts.append("classic names " + ", ".join(classic))
        return "; ".join(parts)


# ---- factors, paths, deltas --------------------------------------------------------------------
@dataclass
class Factor:
    top: str  # name of the output element
    bottom: str  # name of the input element
    formula: str  # the op's own formula for this input
    value: float
    note: str = ""  # e.g. which element the formula refers to ("= out_h1")


@functools.cache
def _takes_any_number_of_inputs(op_class) -> bool:
    """Whether the op's ``forward(self, *arrays, ...)`` is variadic: its one formula is every
    input's."""
    params = inspect.signature(op_class.forward).parameters.values()
    return any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)


def op_formula(fn, k: int) -> str:
    """The op's formula for input ``k``, with the /n of a mean-reduced loss written out: the
    ops' formulas give one term's derivative, and the factor's value includes the 1/n."""
    own = getattr(fn, "explained_formulas", None)  # an op whose formula depends on the call
    formulas = own() if callable(own) else fn.formulas
    if len(formulas) == 1 and _takes_any_number_of_inputs(type(fn)):  # cat, stack, einsum
        k = 0
    formula = formulas[k] if k < len(formulas) else "?"
    if formula == "?":
        return formula
    reduction = getattr(fn, "reduction", None)
    if reduction in ("mean", "batchmean"):
        count = getattr(fn, "count", None)
        if count is None and reduction == "mean":
            count = _elementwise_count(fn)
        if not isinstance(count, (int, float, np.integer, np.floating)) or isinstance(count, bool):
            formula = f"({formula})/n"
        elif count != 1:
            n = getattr(fn, "count_symbol", "n")  # Σw_y where the mean divides by a weight sum
            formula = f"({formula})/{n}, {n} = {float(count):g}"
    return with_constants(fn, formula)


def _elementwise_count(fn) -> int | None:
    """What a mean over elementwise terms (MSE, L1, Huber: prediction and target of one shape)
    divides by: every element; None for another op."""
    parents = getattr(fn, "parents", ())
    if len(parents) < 2 or not all(isinstance(p, Tensor) for p in parents[:2]):
        return None
    x, t = parents[0].array, parents[1].array
    return int(x.size) if x.shape == t.shape else None


def with_constants(fn, formula: str) -> str:
    """``formula`` followed by the constants it names (``…, α = 0.7``), where the op has any."""
    constants = getattr(fn, "explained_constants", None)
    return f"{formula}, {constants()}" if callable(constants) else formula


def step_factor(naming: Naming, graph: Graph, step) -> Factor:
    """A path step (op, k, i, j, value) as a named factor ∂out_j/∂in_i."""
    fn, k, i, j, value = step
    out = graph.output_of[getattr(step, "outer", fn)]
    inner_out = graph.output_of[fn]
    parent = fn.parents[k]
    formula = op_formula(fn, k)
    note = ""
    if isinstance(fn, LinearOp) and k in (0, 1):
        # Linear: ∂z_j/∂W_jk = x_k and ∂z_j/∂x_k = W_jk; name the element the formula means.
        x, w = fn.parents[0], fn.parents[1]
        idx = np.unravel_index(j, inner_out.array.shape)
        if k == 1:
            row, col = np.unravel_index(i, w.array.shape)
            x_index = (*idx[:-1], col)
            note = naming.elem(x, int(np.ravel_multi_index(x_index, x.array.shape)))
        else:
            col = np.unravel_index(i, x.array.shape)[-1]
            note = naming.elem(w, int(np.ravel_multi_index((idx[-1], col), w.array.shape)))
    elif isinstance(fn, MatMul):
        note = _matmul_note(naming, fn, k, i, j, inner_out.array.shape)
    elif isinstance(_ids_of(fn), np.ndarray) and k == 0:
        ids = _ids_of(fn)
        at = np.unravel_index(j, inner_out.array.shape)[: ids.ndim]
        note = f"ids{list(map(int, at))} = {int(ids[at])}: the row this element was read from"
    elif fn.label == "conv2d" and k in (0, 1) and hasattr(fn, "options"):
        note = _conv_note(naming, fn, k, i, j, inner_out.array.shape)
    elif fn.label in ("softmax", "log_softmax") and inner_out.array.shape == parent.array.shape:
        note = _softmax_note(naming, fn, inner_out, parent, i, j)
    else:
        note = _formula_vars(naming, fn, formula, i, j, graph)
    return Factor(naming.elem(out, j), naming.elem(parent, i), formula, value, note)


def _matmul_note(naming, fn, k: int, i: int, j: int, out_shape: tuple) -> str:
    """The element of the other operand that ∂(a@b)[r, c]/∂a[r, m] = b[m, c] (or
    ∂/∂b[m, c] = a[r, m]) reads, batched matmuls (attention's) included; "" where an operand
    is a vector."""
    a, b = fn.parents[0], fn.parents[1]
    if a.array.ndim < 2 or b.array.ndim < 2 or len(out_shape) < 2:
        return ""
    *batch, r, c = np.unravel_index(j, out_shape)

    def element(t, row, col):  # t's element at (row, col) of the output's batch entry
        lead = t.array.shape[:-2]
        own = batch[len(batch) - len(lead) :] if lead else []
        index = (*[0 if n == 1 else v for n, v in zip(lead, own)], row, col)
        return naming.elem(t, int(np.ravel_multi_index(index, t.array.shape)))

    if k == 0:
        return f"b = {element(b, np.unravel_index(i, a.array.shape)[-1], c)}"
    return f"a = {element(a, r, np.unravel_index(i, b.array.shape)[-2])}"


def _softmax_note(naming, fn, out: Tensor, x: Tensor, i: int, j: int) -> str:
    """The elements a softmax's factor couples: ∂out_j/∂x_i = δ − softmax(x) reads the softmax
    of x_i, the input element (not x_j), and p·(δ − p) is p_j·(δ_ij − p_i); δ = 1 only on the
    diagonal."""
    delta = f"δ = {int(i == j)}"
    if fn.label == "log_softmax":
        return f"x = {naming.elem(x, i)}, {delta}"
    p_j, p_i = naming.elem(out, j), naming.elem(out, i)
    return f"= p_j·(δ − p_i): p_j = {p_j}, p_i = {p_i}, {delta}"


def _ids_of(fn):
    """The ids array of an embedding's lookup (an index op by one integer array), else None."""
    ids = getattr(fn, "index", None) if fn.label == "index" else getattr(fn, "ids", None)
    return ids if isinstance(ids, np.ndarray) and ids.dtype.kind in "iu" else None


def _conv_note(naming, fn, k: int, i: int, j: int, out_shape: tuple) -> str:
    """The element a convolution's factor is: for ∂out/∂W[o, c, i, j] the input pixel under
    that tap, for ∂out/∂x the kernel weight that met the pixel ("" where none did)."""
    (sy, sx), (top, _, left, _), (dy, dx), groups = fn.options
    x, w = fn.parents[0], fn.parents[1]
    n, o, y, xo = np.unravel_index(j, out_shape)
    per_group_in, per_group_out = w.array.shape[1], w.array.shape[0] // groups
    if k == 1:  # the input pixel under tap (ti, tj) of output (y, xo)
        _, c, ti, tj = np.unravel_index(i, w.array.shape)
        pixel = (n, (o // per_group_out) * per_group_in + c, y * sy + ti * dy - top)
        pixel += (xo * sx + tj * dx - left,)
        inside = 0 <= pixel[2] < x.array.shape[2] and 0 <= pixel[3] < x.array.shape[3]
        if not inside:
            return "x = 0 (padding)"
        return f"x = {naming.elem(x, int(np.ravel_multi_index(pixel, x.array.shape)))}"
    _, c, yi, xi = np.unravel_index(i, x.array.shape)
    ti, tj = divmod(yi + top - y * sy, dy), divmod(xi + left - xo * sx, dx)
    if ti[1] or tj[1] or not (0 <= ti[0] < w.array.shape[2] and 0 <= tj[0] < w.array.shape[3]):
        return ""
    tap = (o, c % per_group_in, ti[0], tj[0])
    return f"W = {naming.elem(w, int(np.ravel_multi_index(tap, w.array.shape)))}"


def _formula_vars(naming, fn, formula: str, i: int, j: int, graph) -> str:
    """Say which numbers a formula's letters stand for: ``b`` in ∂(a·b)/∂a is the other input."""
    letters = {"x": 0, "z": 0} if len(fn.parents) == 1 else {"a": 0, "b": 1}
    # x_i (cumprod's Π x_i) is an element by its own index, not the one at j: no note
    used = [c for c in letters if re.search(rf"(?<![A-Za-z]){c}(?![A-Za-z_])", formula)]
    parts = []
    out_shape = graph.output_of[fn].array.shape
    for c in used:
        p = fn.parents[letters[c]]
        k = _broadcast_source(j, out_shape, p.array.shape)
        if k is None:
            continue
        name = naming.elem(_before_reshapes(p), k)
        if name != c:
            parts.append(f"{c} = {name}")
    if getattr(fn, "label", None) in ("σ", "tanh") and f"{fn.label}(z)" in formula:
        parts.append(f"{fn.label}(z) = {naming.elem(graph.output_of[fn], j)}")  # its output
    exponent = getattr(fn, "exponent", None)
    if exponent is not None and re.search(r"(?<![A-Za-z])p(?![A-Za-z])", formula):
        parts.append(f"p = {exponent:g}")
    return ", ".join(parts)


def _before_reshapes(t: Tensor) -> Tensor:
    """The tensor that reshapes (same numbers, same order) made ``t`` from: a norm layer's
    weight reshaped to (1, C, 1) is named ``bn.weight[2]``, not ``v9[0, 2, 0]``."""
    while t._ctx is not None and t._ctx.label == "reshape" and len(t._ctx.parents) == 1:
        t = t._ctx.parents[0]
    return t


def _broadcast_source(j: int, out_shape: tuple, shape: tuple) -> int | None:
    """The flat index of the element of an input of ``shape`` that broadcasting placed at the
    output's flat index ``j`` (a LayerNorm's weight (4,) read at output [0, 2] is weight[2]);
    None when ``shape`` does not broadcast to ``out_shape``."""
    if shape == out_shape:
        return j
    if len(shape) > len(out_shape):
        return None
    idx = np.unravel_index(j, out_shape)[len(out_shape) - len(shape) :]
    if any(n not in (1, m) for n, m in zip(shape, out_shape[len(out_shape) - len(shape) :])):
        return None
    return int(np.ravel_multi_index([0 if n == 1 else i for i, n in zip(idx, shape)], shape))


def sample_of(t: Tensor, i: int, batched: bool) -> int:
    if not batched or t.array.ndim < 2:
        return 0
    return int(np.unravel_index(i, t.array.shape)[0])
