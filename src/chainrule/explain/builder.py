"""Build explanations: run the model in float64 on a copy, backpropagate with the engine, read
the recorded graph, and write the four sections (forward, backward, chain rule, update)."""

from __future__ import annotations

import copy
import math

import numpy as np

from chainrule.autograd.grad_mode import enable_grad, no_grad
from chainrule.errors import GraphError, ShapeError
from chainrule.explain.chain import Factor, Naming, detect_layers, sample_of, step_factor
from chainrule.explain.graph import Graph
from chainrule.explain.losses import describe
from chainrule.explain.report import D, Eq, F, Heading, Num, Para, Report, Sym, Table, fmt
from chainrule.tensor import Tensor

MAX_WIDTH = 8  # neurons per layer written out one by one
MAX_FAN_IN = 8  # inputs per neuron written out term by term
MAX_SAMPLES = 4  # samples of a batch written out one by one
MAX_PATHS = 6  # paths written out for one parameter
# Paths listed (in report.data) for one parameter; beyond this many, the paths are counted and
# summed without listing them, and only the ones with the largest |product| are listed.
MAX_LISTED_PATHS = 256
MAX_UPDATE_ROWS = 64  # parameter elements listed in the update table
MAX_TRACE_ROWS = 60  # graph nodes listed in the graph table of an explanation


# ---- helpers ----------------------------------------------------------------------------------
def _named_parameters(model) -> list:
    if hasattr(model, "named_parameters"):
        return [(str(n), p) for n, p in model.named_parameters()]
    if hasattr(model, "parameters"):
        return [(str(i), p) for i, p in enumerate(model.parameters())]
    raise TypeError(
        f"explain() needs a model with named_parameters() (an nn.Module, or any callable object "
        f"that lists its parameter tensors), got {type(model).__name__}"
    )


def _double_copy(model):
    """A float64 deep copy of ``model``; the model itself is never touched."""
    twin = copy.deepcopy(model)
    if hasattr(twin, "double") and callable(twin.double):
        twin.double()
    for _, p in _named_parameters(twin):
        if p.array.dtype.kind == "f" and p.array.dtype != np.float64:
            p.array = p.array.astype(np.float64)
    for _, p in _named_parameters(twin):
        p.grad_array = None
    if hasattr(twin, "eval") and callable(twin.eval):
        twin.eval()  # dropout off, batch norm on its running statistics: the same numbers twice
    return twin


def _as_input(value) -> Tensor:
    data = value.array if isinstance(value, Tensor) else np.asarray(value)
    if data.dtype.kind in "fc" or data.dtype.kind == "O":
        data = np.asarray(data, dtype=np.float64)
    elif data.dtype.kind == "b":
        data = data.astype(np.float64)
    return Tensor._make(np.array(data), False)


def _summary(a) -> str:
    if a is None:
        return "—"
    a = np.asarray(a, dtype=np.float64)
    if a.size == 1:
        return fmt(a.reshape(-1)[0])
    if a.size <= 4:
        return "[" + ", ".join(fmt(v, 6) for v in a.reshape(-1)) + "]"
    return (
        f"mean {fmt(a.mean(), 4)}, std {fmt(a.std(), 4)}, "
        f"min {fmt(a.min(), 4)}, max {fmt(a.max(), 4)}"
    )


def _stats(a) -> dict:
    a = np.asarray(a, dtype=np.float64)
    return {
        "mean": float(a.mean()),
        "std": float(a.std()),
        "min": float(a.min()),
        "max": float(a.max()),
        "norm": float(np.linalg.norm(a)),
    }


def _broadcast_note(fn, k: int, out_shape: tuple) -> str:
    """How the engine summed this input's gradient back to its shape, in words."""
    from chainrule.ops.matmul import Linear as LinearOp

    parent = fn.parents[k]
    shape = parent.array.shape
    if isinstance(fn, LinearOp):
        if k > 0 and len(out_shape) > 1 and int(np.prod(out_shape[:-1])) > 1:
            return "summed over the batch axis"
        return ""
    if len(fn.parents) < 2 or shape == out_shape:
        return ""
    try:
        if np.broadcast_shapes(shape, out_shape) != out_shape:
            return ""
    except ValueError:
        return ""
    extra = len(out_shape) - len(shape)
    axes = list(range(extra)) + [
        extra + i for i, n in enumerate(shape) if n == 1 and out_shape[extra + i] != 1
    ]
    if not axes:
        return ""
    if axes == [0]:
        return "summed over the batch axis (broadcast)"
    return f"summed over axes {tuple(axes)} (broadcast)"


def _op_expr(fn, names: list) -> str:
    """The op applied to its inputs' names: ``a × b``, ``σ(z1)``, ``x^2``."""
    label = fn.label
    if label in ("+", "−", "×", "÷", "@") and len(names) == 2:
        return f"{names[0]} {label} {names[1]}"
    exponent = getattr(fn, "exponent", None)
    if exponent is not None and len(names) == 1:
        return f"{names[0]}^{fmt(exponent)}"
    if label == "pow" and len(names) == 2:
        return f"{names[0]}^{names[1]}"
    return f"{label}({', '.join(names)})"


# ---- trace ------------------------------------------------------------------------------------
def _trace_rows(graph: Graph, naming: Naming, grads: dict, kinds: dict) -> list:
    rows = []
    for idx, t in enumerate(graph.tensors):
        fn = t._ctx
        row = {
            "id": idx,
            "name": naming.tensor(t),
            "op": fn.label if fn is not None else kinds.get(id(t), "constant"),
            "op_class": type(fn).__name__ if fn is not None else None,
            "inputs": [graph.index[id(p)] for p in fn.parents] if fn is not None else [],
            "shape": list(t.array.shape),
            "value": _summary(t.array) if t.array.dtype.kind in "fiub" else "—",
            "grad": _summary(grads.get(id(t))),
            "formulas": [],
        }
        if fn is not None:
            out_shape = t.array.shape
            for k, parent in enumerate(fn.parents):
                if not fn.needs_grad[k]:
                    continue
                formula = fn.formulas[k] if k < len(fn.formulas) else "?"
                note = _broadcast_note(fn, k, out_shape)
                row["formulas"].append(
                    {"input": graph.index[id(parent)], "formula": formula, "note": note}
                )
        if t.array.size <= 16:
            row["values"] = np.asarray(t.array, dtype=np.float64).tolist()
            g = grads.get(id(t))
            row["grads"] = None if g is None else np.asarray(g, dtype=np.float64).tolist()
        rows.append(row)
    return rows


def _trace_table(rows: list) -> Table:
    body = []
    for r in rows:
        local = "; ".join(
            f"∂/∂#{f['input']}: {f['formula']}" + (f" ({f['note']})" if f["note"] else "")
            for f in r["formulas"]
        )
        inputs = ", ".join(f"#{i}" for i in r["inputs"])
        body.append(
            [
                f"#{r['id']}",
                r["name"],
                r["op"] + (f"({inputs})" if inputs else ""),
                "×".join(map(str, r["shape"])) or "scalar",
                r["value"],
                r["grad"],
                local or "—",
            ]
        )
    return Table(
        ["node", "name", "op", "shape", "value", "gradient ∂E/∂node", "local derivative"],
        body,
        [False, False, False, False, True, True, False],
    )


def _leaf_kinds(graph: Graph, param_ids: set, x=None, y=None) -> dict:
    kinds = {}
    for t in graph.tensors:
        if t._ctx is not None:
            continue
        if id(t) in param_ids or t.requires_grad:
            kinds[id(t)] = "parameter" if t.requires_grad else "parameter (frozen)"
        else:
            kinds[id(t)] = "constant"
    if x is not None:
        kinds[id(x)] = "input"
    if y is not None:
        kinds[id(y)] = "target"
    return kinds


def trace(loss: Tensor, names: dict | None = None) -> Report:
    """Every node of the graph below ``loss`` as a table: op, shape, value, gradient, local
    derivative (and where the engine summed a broadcast gradient).

    Runs ``loss.backward(retain_graph=True)`` to get every node's gradient, then puts the leaves'
    ``.grad`` back as they were, so call it before (or instead of) your own ``backward()``.

    Args:
        loss: a tensor with a recorded graph (usually the scalar loss).
        names: optional {tensor: name} for the table; ``tensor.name`` is used otherwise.

    Example:
        >>> import chainrule as cr
        >>> a = cr.tensor(2.0, requires_grad=True)
        >>> report = cr.trace((a * a + a).sum())
        >>> report.data["nodes"][-1]["op"]
        'Σ'
    """
    graph = Graph(loss)
    leaves = [t for t in graph.tensors if t._ctx is None and t.requires_grad]
    saved = [t.grad_array for t in leaves]
    retained = {id(fn): fn.retained for fn in graph.ops}
    inner = [t for t in graph.tensors if t._ctx is not None]
    inner_saved = [t.grad_array for t in inner]
    try:
        for t in leaves:
            t.grad_array = None
        for t in inner:
            t.grad_array = None
            t.retain_grad()
        seed = None if loss.array.size == 1 else np.ones_like(loss.array)
        loss.backward(seed, retain_graph=True)
        grads = {id(t): t.grad_array for t in graph.tensors}
    finally:
        for t, g in zip(leaves, saved):
            t.grad_array = g
        for t, g in zip(inner, inner_saved):
            t.grad_array = g
        for fn in graph.ops:
            fn.retained = retained[id(fn)]
    param_names = {id(t): n for t, n in (names or {}).items()}
    naming = Naming(graph, None, param_names, None, None)
    naming.base[id(graph.root)] = loss.name or "out"
    rows = _trace_rows(graph, naming, grads, _leaf_kinds(graph, set()))
    blocks = [
        Heading(1, "The computation graph"),
        Para(
            f"{len(graph.ops)} ops, {len(graph.tensors)} nodes, in forward order. Each gradient "
            f"is ∂{naming.tensor(graph.root)}/∂node as the engine computed it; the local "
            f"derivative is the op's own formula for each input."
        ),
        _trace_table(rows),
    ]
    data = {"kind": "trace", "nodes": rows}
    return Report("trace", blocks, data, graph=(graph, naming, grads), names=naming)


# ---- explain ----------------------------------------------------------------------------------
def _run(model, x, y, loss_fn):
    with enable_grad():
        out = model(x)
        loss = loss_fn(out, y)
    if not isinstance(loss, Tensor) or loss.array.size != 1:
        raise ShapeError(
            f"explain() needs loss_fn(output, target) to return a one-element tensor, got "
            f"{getattr(loss, 'shape', type(loss).__name__)}; use reduction='mean' or 'sum'"
        )
    if loss._ctx is None:
        raise GraphError(
            "the loss does not depend on any parameter that requires grad; nothing to explain"
        )
    return out, loss


def _prepare(x, y):
    x_t = _as_input(x)
    y_t = _as_input(y) if y is not None else None
    if x_t.array.ndim == 1:  # one sample given without its batch axis
        x_t = Tensor._make(x_t.array[None, :], False)
        if y_t is not None:
            y_t = Tensor._make(np.asarray(y_t.array)[None, ...], False)
    return x_t, y_t


def explain(
    model,
    x,
    y,
    loss_fn,
    lr: float = 0.1,
    param=None,
    names: str | None = None,
    update_order: str = "simultaneous",
    title: str | None = None,
    decimals: int = 9,
    max_paths: int = MAX_LISTED_PATHS,
) -> Report:
    """Explain backpropagation on ``model`` for one sample (or a small batch), with numbers.

    The report has four sections: the forward pass neuron by neuron, the backward pass in delta
    form layer by layer, the chain rule for the chosen parameter(s) factor by factor (summed over
    paths), and the update ``w_new = w_old − lr·∂E/∂w`` with the loss after the step. Every
    number comes from the engine, run in float64 on a deep copy (the model is not touched);
    every local factor is the op's own ``backward`` applied to a one-hot gradient.

    Args:
        model: an ``nn.Module`` (or any callable with ``named_parameters()``).
        x: input, ``(features,)`` for one sample or ``(batch, features)``.
        y: target, as ``loss_fn`` expects it.
        loss_fn: ``loss_fn(output, target)`` returning a one-element tensor.
        lr: learning rate of the plain gradient-descent step shown in section 4.
        param: the parameter element(s) to spell out, e.g. ``"0.weight[1, 0]"`` (or ``"w5"``
            with ``names="classic"``), or a list of them; default: one weight per layer.
        names: ``"classic"`` for textbook names (w1…, b1, net_h1, out_o1); one sample only.
        update_order: ``"simultaneous"`` (every gradient from one backward pass, as optimizers
            do) or ``"sequential"`` (layers updated from the output back, each hidden layer's
            gradient recomputed with the already-updated weights above it).
        title: the report's title.
        decimals: decimal places printed (more for tiny values).
        max_paths: the most paths listed for one parameter. A parameter with more paths to the
            loss gets the ``max_paths`` with the largest |product|; the others are counted and
            summed (without listing them) into one remainder, so the total is still exact.

    Returns:
        Report: ``str(report)``, ``.markdown()``, ``.html()``, ``.json()``, ``.terminal()``,
        ``.dot()``; ``report.data`` holds every number.

    Example:
        >>> from chainrule.explain import examples
        >>> print(examples.mazur(param="w5"))  # doctest: +SKIP
    """
    if update_order not in ("simultaneous", "sequential"):
        raise ValueError(
            f"update_order must be 'simultaneous' or 'sequential', got {update_order!r}"
        )
    if names not in (None, "default", "classic"):
        raise ValueError(f"names must be None, 'default' or 'classic', got {names!r}")
    _check_max_paths(max_paths)
    twin = _double_copy(model)
    x_t, y_t = _prepare(x, y)
    out, loss = _run(twin, x_t, y_t, loss_fn)
    named = _named_parameters(twin)
    ex = _Explainer(
        loss, out, x_t, y_t, named, lr=lr, decimals=decimals, classic=names == "classic"
    )
    ex.loss_formula, ex.loss_derivative = describe(loss_fn)
    ex.rerun = lambda m, xx, yy: _run(m, xx, yy, loss_fn)
    ex.model = twin
    ex.model_for_update = lambda: _double_copy(model)
    ex.max_paths = max_paths
    return ex.build(param, update_order, title or "Backpropagation, explained")


def explain_graph(
    loss: Tensor,
    params: dict,
    lr: float = 0.1,
    param=None,
    title: str | None = None,
    decimals: int = 9,
    recompute=None,
    max_paths: int = MAX_LISTED_PATHS,
) -> Report:
    """Explain an arbitrary scalar expression op by op (no layers needed).

    Args:
        loss: the scalar result, its graph recorded (float64 recommended).
        params: {name: leaf tensor} — the leaves to explain and update.
        lr: step size of the update section.
        param: which leaf element(s) to spell out (default: every leaf).
        recompute: optional ``f({name: np.ndarray}) -> float`` that evaluates the expression at
            new leaf values, for the loss after the update.
        max_paths: the most paths listed for one leaf element (see :func:`explain`).
    """
    _check_max_paths(max_paths)
    named = [(n, t) for n, t in params.items()]
    ex = _Explainer(loss, None, None, None, named, lr=lr, decimals=decimals, classic=False)
    ex.recompute = recompute
    ex.max_paths = max_paths
    return ex.build(param, "simultaneous", title or "Backpropagation through an expression")


def _check_max_paths(max_paths) -> None:
    if isinstance(max_paths, bool) or not isinstance(max_paths, int) or max_paths < 1:
        raise ValueError(f"max_paths must be a positive integer, got {max_paths!r}")


class _Explainer:
    def __init__(self, loss, out, x, y, named, lr, decimals, classic):
        self.loss, self.out, self.x, self.y = loss, out, x, y
        self.lr = float(lr)
        self.decimals = decimals
        self.graph = Graph(loss)
        for t in self.graph.tensors:
            if t._ctx is not None:
                t.retain_grad()
        for _, p in named:
            p.grad_array = None
        loss.backward(retain_graph=True)
        self.named = [(n, p) for n, p in named if id(p) in self.graph.index]
        self.param_names = {id(p): n for n, p in named}
        self.params = [p for _, p in self.named]
        self.trained = [p for p in self.params if p.requires_grad]
        layers = detect_layers(self.graph, x, out) if x is not None else None
        if layers is not None and layers[-1].a is not out:
            layers = None
        self.layers = layers
        if classic and (layers is None or x.array.shape[0] != 1):
            raise ValueError(
                "names='classic' needs a network of Linear layers and activations and one "
                "sample (x of shape (features,) or (1, features))"
            )
        self.naming = Naming(self.graph, layers, self.param_names, x, y, classic=classic)
        self.batch = x.array.shape[0] if (layers and x.array.ndim > 1) else 1
        self.loss_formula = self.loss_derivative = None
        self.recompute = None
        self.rerun = None
        self.model = None
        self.model_for_update = None
        self.max_paths = MAX_LISTED_PATHS
        self.blocks: list = []
        self.data: dict = {}
        self.checks: list = []
        # ∂E/∂(network output), summed over the paths through the loss's own ops
        self.loss_ops = self._loss_ops()
        self.loss_sums = self.graph.path_sums(self.loss_ops) if self.loss_ops is not None else {}

    def _loss_ops(self):
        if not self.layers:
            return None
        chain = set()
        for layer in self.layers:
            chain.add(id(layer.op))
            if layer.bias_op is not None:
                chain.add(id(layer.bias_op))
            chain.update(id(fn) for fn in layer.acts)
        ops = [fn for fn in self.graph.ops if id(fn) not in chain]
        if not all(self.graph.enumerable(fn) for fn in ops):
            return None
        return ops

    def num(self, v, paren: bool = False) -> Num:
        return Num(float(v), self.decimals, paren)

    def arg(self, v) -> Num:
        """A number used as an operand: negative ones get parentheses."""
        return Num(float(v), self.decimals, True)

    def fmt(self, v) -> str:
        return fmt(v, self.decimals)

    # ---- the whole report -------------------------------------------------------------------
    def build(self, param, update_order, title) -> Report:
        chosen = self._chosen(param)
        self.blocks.append(Heading(1, title))
        self.blocks.append(Para(self._intro()))
        self.data.update(
            kind="explain",
            title=title,
            dtype="float64",
            lr=self.lr,
            batch_size=self.batch,
            update_order=update_order,
            names="classic" if self.naming.classic else "default",
            parameters=[
                {
                    "name": n,
                    "shape": list(p.array.shape),
                    "requires_grad": bool(p.requires_grad),
                    "values": np.asarray(p.array, dtype=np.float64).tolist(),
                    "grad": None if p.grad_array is None else np.asarray(p.grad_array).tolist(),
                }
                for n, p in self.named
            ],
        )
        if self.layers:
            self._forward_layers()
            self._backward_layers()
        else:
            self._forward_generic()
            self._backward_generic()
        self._chains(chosen)
        self._update(update_order)
        self._graph_section()
        self.data["checks"] = self.checks
        return Report(
            title, self.blocks, self.data, graph=(self.graph, self.naming, None), names=self.naming
        )

    def _intro(self) -> str:
        if self.layers:
            shape = " → ".join(
                [str(self.layers[0].fan_in)]
                + [f"{layer.width} ({layer.act_label})" for layer in self.layers]
            )
            return (
                f"Network {shape}; {self.batch} sample{'s' if self.batch > 1 else ''}; "
                f"computed in float64 by the chainrule engine on a copy of the model. Every "
                f"local derivative below is the engine's own (each op's backward)."
            )
        return (
            f"An expression of {len(self.graph.ops)} ops, computed in float64 by the chainrule "
            f"engine. Every local derivative below is the engine's own (each op's backward)."
        )

    def _chosen(self, param) -> list:
        naming = self.naming
        if param is None:
            if self.layers:
                picks = [(layer.weight, 0) for layer in self.layers if layer.weight.requires_grad]
            else:
                picks = [(p, 0) for p in self.trained]
            return picks or [(p, 0) for p in self.trained[:1]]
        names = [param] if isinstance(param, str) else list(param)
        return [naming.parse(n, self.params) for n in names]

    # ---- 1. forward ---------------------------------------------------------------------------
    def _forward_layers(self):
        naming, blocks = self.naming, self.blocks
        blocks.append(Heading(2, "1. Forward pass"))
        blocks.append(
            Para(
                "Each neuron takes a weighted sum of its inputs plus a bias, z = Σ w·a + b, "
                "and passes it through its activation, a = f(z)."
            )
        )
        x = self.x
        layers_data = []
        samples = range(min(self.batch, MAX_SAMPLES))
        if self.batch > MAX_SAMPLES:
            blocks.append(Para(f"Samples 0–{MAX_SAMPLES - 1} of {self.batch} are written out."))
        inputs = [
            [Sym(naming.elem(x, b * x.array.shape[-1] + k)), " = ", self.num(x.array[b, k])]
            for b in samples
            for k in range(min(x.array.shape[-1], MAX_FAN_IN))
        ]
        if x.array.shape[-1] <= MAX_FAN_IN:
            for tokens in inputs:
                blocks.append(Eq(tokens))
        else:
            blocks.append(Para(f"Input x: shape {x.array.shape}, {_summary(x.array)}."))
        for layer in self.layers:
            w, bias = layer.weight, layer.bias
            blocks.append(
                Heading(
                    3,
                    f"Layer {layer.index}: {layer.fan_in} → {layer.width}, "
                    f"activation {layer.act_label}",
                )
            )
            small = layer.width <= MAX_WIDTH
            for b in samples:
                if self.batch > 1:
                    blocks.append(Para(f"Sample {b}:"))
                neurons = range(layer.width) if small else range(min(2, layer.width))
                for j in neurons:
                    blocks.append(self._neuron_eq(layer, b, j))
                    if layer.acts:
                        blocks.append(self._activation_eq(layer, b, j))
                if not small:
                    blocks.append(
                        Para(
                            f"… and {layer.width - len(neurons)} more neurons: z{layer.index} "
                            f"{_summary(layer.z.array[b])}; a{layer.index} "
                            f"{_summary(layer.a.array[b])}."
                        )
                    )
            layers_data.append(
                {
                    "index": layer.index,
                    "weight": naming.tensor(w),
                    "bias": naming.tensor(bias) if bias is not None else None,
                    "activation": layer.act_label,
                    "z": np.asarray(layer.z.array).tolist(),
                    "a": np.asarray(layer.a.array).tolist(),
                }
            )
        self.data["forward"] = {"input": np.asarray(x.array).tolist(), "layers": layers_data}
        self._loss_block()

    def _neuron_eq(self, layer, b: int, j: int) -> Eq:
        naming = self.naming
        w, x, z = layer.weight, layer.x, layer.z
        fan = layer.fan_in
        ks = list(range(fan)) if fan <= MAX_FAN_IN else [0, 1, fan - 1]
        sym_terms, num_terms = [], []
        for pos, k in enumerate(ks):
            if fan > MAX_FAN_IN and pos == 2:
                sym_terms.append(" + … ")
                num_terms.append(" + … ")
            elif pos:
                sym_terms.append(" + ")
                num_terms.append(" + ")
            wi = j * fan + k
            xi = b * fan + k
            sym_terms += [Sym(naming.elem(w, wi)), "·", Sym(naming.elem(x, xi))]
            num_terms += [self.arg(w.array.flat[wi]), "·", self.arg(x.array.flat[xi])]
        if layer.bias is not None:
            bi = j if layer.bias.array.size > 1 else 0
            sym_terms += [" + ", Sym(naming.elem(layer.bias, bi))]
            num_terms += [" + ", self.arg(layer.bias.array.flat[bi])]
        zi = b * layer.width + j
        return Eq(
            [
                Sym(naming.elem(z, zi)),
                " = ",
                *sym_terms,
                " = ",
                *num_terms,
                " = ",
                self.num(z.array.flat[zi]),
            ]
        )

    def _activation_eq(self, layer, b: int, j: int) -> Eq:
        naming = self.naming
        zi = b * layer.width + j
        inner = Sym(naming.elem(layer.z, zi))
        num = self.num(layer.z.array.flat[zi])
        tokens_sym: list = [inner]
        tokens_num: list = [num]
        for fn in layer.acts:
            tokens_sym = [F(fn.label), "(", *tokens_sym, ")"]
            tokens_num = [F(fn.label), "(", *tokens_num, ")"]
        return Eq(
            [
                Sym(naming.elem(layer.a, zi)),
                " = ",
                *tokens_sym,
                " = ",
                *tokens_num,
                " = ",
                self.num(layer.a.array.flat[zi]),
            ]
        )

    def _loss_block(self):
        blocks, naming = self.blocks, self.naming
        blocks.append(Heading(3, "Loss"))
        out = self.out
        if out.array.size <= MAX_WIDTH * MAX_SAMPLES:
            rows = []
            for i in range(out.array.size):
                target = ""
                if self.y is not None and self.y.array.shape == out.array.shape:
                    target = self.fmt(self.y.array.flat[i])
                rows.append([naming.elem(out, i), self.fmt(out.array.flat[i]), target])
            if self.y is not None and self.y.array.shape != out.array.shape:
                blocks.append(Para(f"Target t = {np.asarray(self.y.array).tolist()}."))
            blocks.append(Table(["output", "value", "target"], rows, [False, True, True]))
        value = float(self.loss.array)
        formula = self.loss_formula or "E = " + self._expr(self.graph.root)
        blocks.append(Eq([F(formula), " = ", self.num(value)]))
        self.data["loss"] = {"formula": formula, "value": value}
        self.data["output"] = np.asarray(out.array).tolist()
        if self.y is not None:
            self.data["target"] = np.asarray(self.y.array).tolist()

    def _expr(self, t, depth: int = 0) -> str:
        """The loss as an expression of the output o and target t, read from the graph."""
        if t is self.out:
            return "o"
        if t is self.y:
            return "t"
        fn = t._ctx
        if fn is None or depth > 12:
            return fmt(t.array.item(), 6) if t.array.size == 1 else self.naming.tensor(t)
        args = [self._expr(p, depth + 1) for p in fn.parents]
        args = [a if " " not in a or a.startswith("(") else f"({a})" for a in args]
        return _op_expr(fn, args)

    # ---- 2. backward --------------------------------------------------------------------------
    def _factor_at(self, fn, k: int, i: int, j: int) -> float:
        """∂out_j/∂in_i of input k of ``fn``, from the op's backward (0 where independent)."""
        for jj, v in self.graph.columns(fn)[k].get(i, ()):
            if jj == j:
                return v
        return 0.0

    def _backward_layers(self):
        naming, blocks, graph = self.naming, self.blocks, self.graph
        blocks.append(Heading(2, "2. Backward pass"))
        blocks.append(
            Para(
                "From the output back, each neuron's error signal δ = ∂E/∂z: at the output "
                "δ = ∂E/∂a · f'(z); in a hidden layer δ_j = f'(z_j) · Σ_k w_kj · δ_k, the "
                "deltas of the layer above weighted by the connections. Then ∂E/∂w_jk = δ_j · a_k "
                "and ∂E/∂b_j = δ_j (summed over the samples of a batch)."
            )
        )
        out = self.out
        d_out = self.loss_sums.get(id(out)) if self.loss_sums else None
        if d_out is None:
            d_out = np.asarray(out.grad_array, dtype=np.float64)
        self._check("∂E/∂output", d_out, out.grad_array)
        blocks.append(Heading(3, "Output error"))
        deriv = self.loss_derivative or "Σ over the loss's own ops"
        if out.array.size <= MAX_WIDTH * MAX_SAMPLES:
            for i in range(out.array.size):
                blocks.append(
                    Eq(
                        [
                            D("E", naming.elem(out, i)),
                            " = ",
                            F(deriv),
                            " = ",
                            self.num(d_out.flat[i]),
                        ]
                    )
                )
        else:
            blocks.append(Para(f"∂E/∂output: shape {out.array.shape}, {_summary(d_out)}."))
        deltas: dict[int, np.ndarray] = {}
        layers_data = []
        upstream = d_out  # ∂E/∂a of the current layer
        for layer in reversed(self.layers):
            small = (
                layer.width <= MAX_WIDTH
                and all(graph.enumerable(fn) for fn in layer.acts)
                and (layer.index == len(self.layers) or self._next(layer).width <= 4 * MAX_WIDTH)
            )
            blocks.append(Heading(3, f"Layer {layer.index}"))
            B, W = self.batch, layer.width
            z_flat = layer.z.array.reshape(-1)
            if small:
                fprime = np.ones(z_flat.size)
                for fn in layer.acts:
                    for i in range(z_flat.size):
                        fprime[i] *= self._factor_at(fn, 0, i, i)
                if layer.index == len(self.layers):
                    da = upstream.reshape(-1)
                else:
                    nxt = self._next(layer)
                    da = np.zeros(z_flat.size)
                    for i in range(z_flat.size):
                        b = i // W
                        da[i] = sum(
                            self._factor_at(nxt.op, 0, i, b * nxt.width + k)
                            * deltas[nxt.index][b * nxt.width + k]
                            for k in range(nxt.width)
                        )
                delta = fprime * da
            else:
                delta = np.asarray(layer.z.grad_array, dtype=np.float64).reshape(-1)
                fprime = None
            deltas[layer.index] = delta
            self._check(f"δ of layer {layer.index}", delta, layer.z.grad_array)
            if small:
                for b in range(min(B, MAX_SAMPLES)):
                    if B > 1:
                        blocks.append(Para(f"Sample {b}:"))
                    for j in range(W):
                        blocks.append(self._delta_eq(layer, b, j, fprime, da, deltas))
            else:
                blocks.append(
                    Para(
                        f"δ{layer.index} (shape {layer.z.array.shape}): {_summary(delta)} — the "
                        f"engine's ∂E/∂z; the neurons on the chosen parameter's paths are "
                        f"written out in section 3."
                    )
                )
            blocks.append(self._grad_table(layer, delta))
            layers_data.append(
                {
                    "index": layer.index,
                    "delta": delta.reshape(layer.z.array.shape).tolist(),
                    "f_prime": None if fprime is None else fprime.tolist(),
                    "engine_dz": np.asarray(layer.z.grad_array).tolist(),
                    "grad_weight": np.asarray(layer.weight.grad_array).tolist()
                    if layer.weight.grad_array is not None
                    else None,
                    "grad_bias": np.asarray(layer.bias.grad_array).tolist()
                    if layer.bias is not None and layer.bias.grad_array is not None
                    else None,
                }
            )
        self.data["backward"] = {"dE_doutput": d_out.tolist(), "layers": layers_data}

    def _next(self, layer):
        return self.layers[layer.index]  # index is 1-based: the next layer

    def _delta_eq(self, layer, b, j, fprime, da, deltas) -> Eq:
        naming = self.naming
        i = b * layer.width + j
        z_name = naming.elem(layer.z, i)
        a_name = naming.elem(layer.a, i)
        short = z_name.replace("net_", "") if naming.classic else z_name
        head = [Sym("δ_" + short if naming.classic else f"δ({z_name})"), " = "]
        fp_sym = [D(a_name, z_name)] if layer.acts else []
        fp_num = [self.arg(fprime[i])] if layer.acts else []
        value = self.num(fprime[i] * da[i])
        if layer.index == len(self.layers):
            if layer.acts:
                return Eq(
                    [
                        *head,
                        D("E", a_name),
                        " · ",
                        *fp_sym,
                        " = ",
                        self.arg(da[i]),
                        " × ",
                        *fp_num,
                        " = ",
                        value,
                        "   [",
                        F(self._act_formula(layer)),
                        "]",
                    ]
                )
            return Eq([*head, D("E", z_name), " = ", value])
        nxt = self._next(layer)
        sym_sum, num_sum = [], []
        for k in range(nxt.width):
            if k:
                sym_sum.append(" + ")
                num_sum.append(" + ")
            wi = k * nxt.fan_in + j
            zk = b * nxt.width + k
            nz = naming.elem(nxt.z, zk)
            dsym = "δ_" + nz.replace("net_", "") if naming.classic else f"δ({nz})"
            sym_sum += [Sym(naming.elem(nxt.weight, wi)), "·", Sym(dsym)]
            num_sum += [self.arg(nxt.weight.array.flat[wi]), " × ", self.arg(deltas[nxt.index][zk])]
        if layer.acts:
            return Eq(
                [
                    *head,
                    *fp_sym,
                    " · (",
                    *sym_sum,
                    ") = ",
                    *fp_num,
                    " × (",
                    *num_sum,
                    ") = ",
                    value,
                    "   [",
                    F(self._act_formula(layer)),
                    "]",
                ]
            )
        return Eq([*head, *sym_sum, " = ", *num_sum, " = ", value])

    def _act_formula(self, layer) -> str:
        return " · ".join(fn.formulas[0] for fn in layer.acts)

    def _grad_table(self, layer, delta) -> Table:
        naming = self.naming
        rows = []
        B, W, fan = self.batch, layer.width, layer.fan_in
        w, bias = layer.weight, layer.bias
        if W * fan > MAX_UPDATE_ROWS or B > MAX_SAMPLES:
            for t in (w, bias):
                if t is None:
                    continue
                rows.append(
                    [
                        naming.tensor(t),
                        "×".join(map(str, t.array.shape)),
                        "δ · a (Σ over samples)",
                        "" if t.grad_array is None else _summary(t.grad_array),
                        "" if t.grad_array is None else self.fmt(np.linalg.norm(t.grad_array)),
                    ]
                )
            return Table(
                ["parameter", "shape", "formula", "∂E/∂parameter", "norm"],
                rows,
                [False, False, False, True, True],
            )
        x = layer.x
        for j in range(W):
            for k in range(fan):
                wi = j * fan + k
                terms = [(delta[b * W + j], x.array.flat[b * fan + k]) for b in range(B)]
                dz = [naming.elem(layer.z, b * W + j) for b in range(B)]
                ds = [("δ_" + n.replace("net_", "")) if naming.classic else f"δ({n})" for n in dz]
                formula = " + ".join(f"{d}·{naming.elem(x, b * fan + k)}" for b, d in enumerate(ds))
                numbers = " + ".join(
                    f"{self.arg(d).text()} × {self.arg(a).text()}" for d, a in terms
                )
                grad = "not trained" if w.grad_array is None else self.fmt(w.grad_array.flat[wi])
                rows.append([naming.elem(w, wi), formula, numbers, grad])
        if bias is not None:
            for bi in range(bias.array.size):
                js = range(W) if bias.array.size == 1 else [bi]
                items = [(b, j) for b in range(B) for j in js]
                names = [naming.elem(layer.z, b * W + j) for b, j in items]
                formula = " + ".join(
                    ("δ_" + n.replace("net_", "")) if naming.classic else f"δ({n})" for n in names
                )
                numbers = " + ".join(self.arg(delta[b * W + j]).text() for b, j in items)
                grad = (
                    "not trained" if bias.grad_array is None else self.fmt(bias.grad_array.flat[bi])
                )
                rows.append([naming.elem(bias, bi), formula, numbers, grad])
        return Table(
            ["parameter", "∂E/∂parameter", "numbers", "engine .grad"],
            rows,
            [False, False, False, True],
        )

    def _check(self, what, ours, engine):
        if engine is None:
            return
        ours = np.asarray(ours, dtype=np.float64).reshape(-1)
        engine = np.asarray(engine, dtype=np.float64).reshape(-1)
        diff = float(np.max(np.abs(ours - engine))) if ours.size else 0.0
        self.checks.append({"what": what, "max_abs_diff": diff})

    # ---- generic graphs (no layers): op by op ---------------------------------------------------
    def _forward_generic(self):
        naming, graph = self.naming, self.graph
        self.blocks.append(Heading(2, "1. Forward pass"))
        rows = []
        for t in graph.tensors:
            fn = t._ctx
            if fn is None:
                kind = "parameter" if id(t) in self.param_names else "constant"
                rows.append([naming.tensor(t), kind, "", _summary(t.array)])
            else:
                expr = _op_expr(fn, [naming.tensor(p) for p in fn.parents])
                rows.append([naming.tensor(t), fn.label, expr, _summary(t.array)])
        self.blocks.append(
            Table(["node", "op", "computes", "value"], rows, [False, False, False, True])
        )
        value = float(self.loss.array)
        self.data["loss"] = {"formula": naming.tensor(graph.root), "value": value}
        self.data["forward"] = {
            "nodes": [{"name": r[0], "op": r[1], "computes": r[2], "value": r[3]} for r in rows]
        }

    def _backward_generic(self):
        naming, graph = self.naming, self.graph
        self.blocks.append(Heading(2, "2. Backward pass"))
        self.blocks.append(
            Para(
                "From the result back, each node's gradient is the sum, over the ops that use it, "
                "of the op's gradient times the op's local derivative. A value used several "
                "times collects one term per use."
            )
        )
        sums = graph.path_sums() if all(graph.enumerable(fn) for fn in graph.ops) else {}
        nodes = []
        rows = [
            [naming.tensor(t), "×".join(map(str, t.array.shape)), _summary(t.grad_array)]
            for t in reversed(graph.tensors)
            if t.array.size > 1 and t.grad_array is not None
        ]
        if rows:
            self.blocks.append(
                Table(
                    ["node", "shape", "gradient ∂E/∂node (the engine's)"],
                    rows,
                    [False, False, True],
                )
            )
        for t in reversed(graph.tensors):
            if t is graph.root or t.array.size != 1 or id(t) not in sums:
                continue
            name = naming.tensor(t)
            sym, nums = [], []
            for fn, k in graph.consumers.get(id(t), ()):
                if not fn.needs_grad[k]:
                    continue
                out = graph.output_of[fn]
                if out.array.size != 1:
                    continue
                factor = self._factor_at(fn, k, 0, 0)
                if sym:
                    sym.append(" + ")
                    nums.append(" + ")
                sym += [D("E", naming.tensor(out)), " · ", D(naming.tensor(out), name)]
                nums += [self.arg(sums[id(out)].item()), " × ", self.arg(factor)]
            total = sums[id(t)].item()
            uses = [(fn, k) for fn, k in graph.consumers.get(id(t), ()) if fn.needs_grad[k]]
            if len(uses) == 1 and graph.output_of[uses[0][0]] is graph.root:
                fn, k = uses[0]
                formula = fn.formulas[k] if k < len(fn.formulas) else "?"
                sym, nums = ([] if formula == self.fmt(total) else [F(formula)]), []
            elif len(sym) <= 3:
                nums = []
            self.blocks.append(
                Eq(
                    [
                        D("E", name),
                        " = ",
                        *([*sym, " = "] if sym else []),
                        *([*nums, " = "] if nums else []),
                        self.num(total),
                    ]
                )
            )
            nodes.append({"name": name, "grad": total, "engine_grad": _item(t.grad_array)})
            self._check(f"∂E/∂{name}", total, t.grad_array)
        self.data["backward"] = {"nodes": nodes}

    # ---- 3. the chain rule -----------------------------------------------------------------------
    def _chains(self, chosen):
        naming, graph = self.naming, self.graph
        self.blocks.append(Heading(2, "3. The chain rule, factor by factor"))
        self.blocks.append(
            Para(
                "A parameter's gradient is the product of the local derivatives along a path from "
                "it to the loss; where it reaches the loss along several paths, the products "
                "add up. Each factor is the op's own derivative formula, evaluated by its "
                "backward."
            )
        )
        stop = self.out if self.loss_ops is not None else None
        per_sample = self._per_sample_grads() if self.layers and self.batch > 1 else None
        chains = []
        for t, i in chosen:
            name = naming.elem(t, i)
            self.blocks.append(Heading(3, f"∂E/∂{name}"))
            if not t.requires_grad:
                self.blocks.append(
                    Para(
                        f"{name} is frozen (requires_grad=False): the engine computes no "
                        f"gradient for it and the update leaves it alone."
                    )
                )
                chains.append(
                    {"param": name, "frozen": True, "paths": [], "total": None, "engine_grad": None}
                )
                continue
            end_weight = None if stop is None else self.loss_sums[id(stop)].reshape(-1)
            try:
                table = graph.path_table(t, i, stop=stop, end_weight=end_weight)
                if table.count <= self.max_paths:
                    paths = graph.paths(t, i, stop=stop, limit=self.max_paths)
                else:  # too many to list: the largest ones, the rest counted and summed
                    paths = table.best(self.max_paths)
            except GraphError as err:
                self.blocks.append(Para(f"Not enumerated: {err}."))
                continue
            explained = []
            for steps in paths:
                factors = [step_factor(naming, graph, s) for s in reversed(self._merge(steps))]
                if stop is not None:
                    j = steps[-1][3] if steps else i
                    factors.insert(
                        0,
                        Factor(
                            "E",
                            naming.elem(stop, j),
                            self.loss_derivative or "(loss graph)",
                            float(self.loss_sums[id(stop)].flat[j]),
                        ),
                    )
                sample = sample_of(graph.output_of[steps[0][0]], steps[0][3], self.batch > 1)
                explained.append((factors, math.prod(f.value for f in factors), sample))
            listed = sum(p for _, p, _ in explained)
            complete = len(explained) == table.count
            total = listed if complete else table.total
            engine = None if t.grad_array is None else float(t.grad_array.flat[i])
            self._chain_blocks(name, explained, total, engine, table.count)
            entry = {
                "param": name,
                "paths": [
                    {
                        "sample": s,
                        "factors": [
                            {
                                "symbol": f"∂{f.top}/∂{f.bottom}",
                                "formula": f.formula,
                                "refers_to": f.note,
                                "value": f.value,
                            }
                            for f in factors
                        ],
                        "product": p,
                    }
                    for factors, p, s in explained
                ],
                "path_count": table.count,
                "paths_not_listed": table.count - len(explained),
                "rest_total": total - listed,
                "total": total,
                "engine_grad": engine,
            }
            if per_sample is not None:
                if complete:
                    contrib = [(p, s) for _, p, s in explained]
                else:  # per sample from the table: each first step's factor × the sum beyond it
                    contrib = [
                        (factor * below, sample_of(graph.output_of[fn], j, self.batch > 1))
                        for fn, _, j, factor, _, below in table.first
                    ]
                entry["per_sample"] = self._per_sample_block(t, i, name, contrib, per_sample)
            chains.append(entry)
            if engine is not None:
                self._check(f"∂E/∂{name} (sum over paths)", total, engine)
        self.data["chains"] = chains

    def _merge(self, steps):
        """Fold the step through a separately added bias (factor 1) into the linear step, so
        ∂z/∂w reads as one factor, as in the textbooks."""
        inner = {id(layer.op): layer for layer in self.layers or () if layer.bias_op is not None}
        merged, n = [], 0
        while n < len(steps):
            fn, k, i, j, v = steps[n]
            if id(fn) in inner and n + 1 < len(steps) and steps[n + 1][0] is inner[id(fn)].bias_op:
                add = steps[n + 1]
                merged.append(_MergedStep(fn, add[0], k, i, add[3], v * add[4]))
                n += 2
                continue
            merged.append(steps[n])
            n += 1
        return merged

    def _chain_blocks(self, name, explained, total, engine, count):
        blocks = self.blocks
        if not explained:
            blocks.append(
                Para(f"No path from {name} to the loss carries a nonzero factor: ∂E/∂{name} = 0.")
            )
            return
        if count > len(explained):
            blocks.append(
                Para(
                    f"{count:,} paths lead from {name} to the loss, too many to list. They are "
                    f"counted and summed without listing them: the sum over all the paths "
                    f"through a node is its local factor times the sum over the paths on from "
                    f"it, so every node is visited once. The {len(explained):,} paths with the "
                    f"largest |product| are found by a best-first search (report.json() lists "
                    f"them); the largest are written out here."
                )
            )
        shown = explained
        if count > MAX_PATHS:
            shown = sorted(explained, key=lambda e: -abs(e[1]))[: MAX_PATHS - 1]
        for n, (factors, product, sample) in enumerate(shown):
            sym, nums = [], []
            for f in factors:
                if sym:
                    sym.append(" · ")
                    nums.append(" × ")
                sym.append(D(f.top, f.bottom))
                nums.append(self.arg(f.value))
            lead = [D("E", name)] if count == 1 else [f"path {n + 1}: "]
            tail = (
                [" = ", *nums, " = ", self.num(product)]
                if len(factors) > 1
                else [" = ", self.num(product)]
            )
            if self.batch > 1:
                tail.append(f"   (sample {sample})")
            blocks.append(Eq([*lead, " = " if count == 1 else "", *sym, *tail]))
        if count > 1:
            parts = []
            for n, (_, p, _) in enumerate(shown):
                if n:
                    parts.append(" + ")
                parts.append(self.arg(p))
            flat = parts
            if count > len(shown):
                rest = total - sum(p for _, p, _ in shown)
                flat += [
                    f" + (the other {count - len(shown):,} paths: ",
                    self.num(rest),
                    ")",
                ]
            blocks.append(Eq([D("E", name), " = Σ over paths = ", *flat, " = ", self.num(total)]))
        seen, rows = set(), []
        for factors, _, _ in shown:
            for f in factors:
                key = (f.top, f.bottom)
                if key in seen:
                    continue
                seen.add(key)
                rows.append(
                    [
                        f"∂{f.top}/∂{f.bottom}",  # noqa: RUF001
                        _with_note(f.formula, f.note),
                        self.fmt(f.value),
                    ]
                )
        blocks.append(Table(["factor", "local derivative", "value"], rows, [False, False, True]))
        if engine is not None:
            blocks.append(
                Para(
                    f"The engine's {name}.grad = {self.fmt(engine)} — the same number "
                    f"(difference {abs(engine - total):.1e})."
                )
            )

    def _per_sample_grads(self) -> list | None:
        if self.rerun is None or self.batch > 16:
            return None
        result = []
        twin = copy.deepcopy(self.model)  # the explained graph keeps its own gradients
        theirs = dict(_named_parameters(twin))
        for b in range(self.batch):
            for q in theirs.values():
                q.grad_array = None
            xb = Tensor._make(self.x.array[b : b + 1], False)
            yb = None if self.y is None else Tensor._make(self.y.array[b : b + 1], False)
            _, loss_b = self.rerun(twin, xb, yb)
            loss_b.backward()
            result.append(
                {
                    id(p): None if theirs[n].grad_array is None else theirs[n].grad_array.copy()
                    for n, p in self.named
                }
            )
        return result

    def _per_sample_block(self, t, i, name, terms, per_sample) -> dict:
        """``terms``: (value, sample) pairs that add up to the parameter's gradient."""
        contrib = [0.0] * self.batch
        for p, s in terms:
            contrib[s] += p
        engine_b = [None if g.get(id(t)) is None else float(g[id(t)].flat[i]) for g in per_sample]
        rows = [
            [str(b), self.fmt(contrib[b]), "—" if e is None else self.fmt(e)]
            for b, e in enumerate(engine_b)
        ]
        self.blocks.append(
            Table(
                ["sample", "its paths' sum", f"∂E_sample/∂{name} (that sample alone)"],
                rows,
                [False, True, True],
            )
        )
        valid = [e for e in engine_b if e is not None]
        mean = float(np.mean(valid)) if valid else None
        total = sum(contrib)
        if mean is not None:
            how = "mean" if abs(mean - total) <= 1e-9 * max(1.0, abs(total)) else "sum"
            value = mean if how == "mean" else float(np.sum(valid))
            self.blocks.append(
                Eq([D("E", name), f" = {how} of the per-sample gradients = ", self.num(value)])
            )
        else:
            how, value = None, None
        return {
            "contributions": contrib,
            "engine_per_sample": engine_b,
            "combined_by": how,
            "combined": value,
        }

    # ---- 4. the update ---------------------------------------------------------------------
    def _update(self, order):
        naming, blocks = self.naming, self.blocks
        blocks.append(Heading(2, "4. The update"))
        blocks.append(Eq(["θ_new = θ_old − η · ∂E/∂θ,   η = ", self.num(self.lr)]))
        before = float(self.loss.array)
        grads = {
            id(p): None if p.grad_array is None else np.asarray(p.grad_array, dtype=np.float64)
            for p in self.params
        }
        new_values, after = self._step(order, grads)
        rows, data_rows = [], []
        total = sum(p.array.size for p in self.trained)
        for p in self.params:
            pname = naming.tensor(p)
            if not p.requires_grad:
                label = naming.elem(p, 0) if p.array.size == 1 else pname
                rows.append(
                    [
                        label,
                        _summary(p.array),
                        "—",
                        "not updated (requires_grad=False)",
                        _summary(p.array),
                    ]
                )
                continue
            g = grads[id(p)]
            new = new_values[id(p)]
            if total <= MAX_UPDATE_ROWS:
                for i in range(p.array.size):
                    rows.append(
                        [
                            naming.elem(p, i),
                            self.fmt(p.array.flat[i]),
                            self.fmt(g.flat[i]),
                            f"{self.fmt(p.array.flat[i])} − {self.fmt(self.lr)} × "
                            f"{self.arg(g.flat[i]).text()}",
                            self.fmt(new.flat[i]),
                        ]
                    )
            else:
                step = new - p.array
                rows.append(
                    [
                        pname,
                        "×".join(map(str, p.array.shape)) or "scalar",
                        f"‖∂E/∂θ‖ = {self.fmt(np.linalg.norm(g))}",
                        f"‖Δθ‖ = {self.fmt(np.linalg.norm(step))}",
                        f"max |Δθ| = {self.fmt(np.abs(step).max())}",
                    ]
                )
            data_rows.append(
                {
                    "name": pname,
                    "old": np.asarray(p.array).tolist(),
                    "grad": g.tolist(),
                    "new": new.tolist(),
                }
            )
        if total <= MAX_UPDATE_ROWS:
            header = ["parameter", "old", "∂E/∂θ", "old − η·∂E/∂θ", "new"]
        else:
            header = ["parameter", "shape", "gradient", "step", "largest change"]
        if order == "sequential":
            blocks.append(
                Para(
                    "Sequential order: the output layer is updated first; each layer below then "
                    "takes its gradient from a fresh backward pass that already uses the updated "
                    "weights above it (the activations stay those of the forward pass). The "
                    "gradients in this table are the ones used."
                )
            )
        blocks.append(Table(header, rows, [False, True, True, True, True]))
        if after is not None:
            blocks.append(
                Eq(
                    [
                        "E before = ",
                        self.num(before),
                        ",   E after one step = ",
                        self.num(after),
                        ",   change = ",
                        self.num(after - before),
                    ]
                )
            )
        self.data["update"] = {
            "lr": self.lr,
            "order": order,
            "parameters": data_rows,
            "loss_before": before,
            "loss_after": after,
        }
        self.data["loss_after"] = after

    def _step(self, order, grads):
        """New parameter values, and the loss at them (a fresh forward pass by the engine)."""
        new_values = {}
        if order == "sequential":
            if not self.layers or self.model_for_update is None:
                raise ValueError("update_order='sequential' needs a network of layers")
            twin = self.model_for_update()
            x, y = self.x, self.y
            out, loss = self.rerun(twin, x, y)
            layers = detect_layers(Graph(loss), x, out)
            theirs = dict(_named_parameters(twin))
            mine_by_id = {id(theirs[n]): p for n, p in self.named}
            for layer in reversed(layers):
                for q in theirs.values():
                    q.grad_array = None
                loss.backward(retain_graph=True)
                for t in (layer.weight, layer.bias):
                    if t is None or not t.requires_grad:
                        continue
                    grads[id(mine_by_id[id(t)])] = t.grad_array.copy()
                    t.array -= (
                        self.lr * t.grad_array
                    )  # in place: the graph's saved copy sees it too
            for n, p in self.named:
                new_values[id(p)] = np.array(theirs[n].array)
            with no_grad():
                _, after = self.rerun(twin, x, y)
            return new_values, float(after.array)
        for p in self.params:
            if p.requires_grad and grads[id(p)] is not None:
                new_values[id(p)] = p.array - self.lr * grads[id(p)]
            else:
                new_values[id(p)] = np.array(p.array)
        after = None
        if self.rerun is not None:
            twin = copy.deepcopy(self.model)
            theirs = dict(_named_parameters(twin))
            for n, p in self.named:
                theirs[n].array = new_values[id(p)].copy()
            with no_grad():
                _, after_t = self.rerun(twin, self.x, self.y)
            after = float(after_t.array)
        elif self.recompute is not None:
            after = float(self.recompute({n: new_values[id(p)] for n, p in self.named}))
        return new_values, after

    # ---- 5. the graph -----------------------------------------------------------------------
    def _graph_section(self):
        graph, naming = self.graph, self.naming
        grads = {id(t): t.grad_array for t in graph.tensors}
        kinds = _leaf_kinds(graph, set(self.param_names), self.x, self.y)
        rows = _trace_rows(graph, naming, grads, kinds)
        self.data["graph"] = rows
        self.blocks.append(Heading(2, "5. The graph the engine recorded"))
        if len(rows) > MAX_TRACE_ROWS:
            self.blocks.append(Para(f"{len(rows)} nodes; see report.json() or trace()."))
            return
        self.blocks.append(_trace_table(rows))


class _MergedStep(tuple):
    """A linear step and the bias add after it, as one step (op, k, i, j, factor)."""

    def __new__(cls, fn, outer, k, i, j, value):
        step = super().__new__(cls, (fn, k, i, j, value))
        step.outer = outer
        return step


def _with_note(formula: str, note: str) -> str:
    if not note:
        return formula
    return f"{formula}  ({note})" if "=" in note else f"{formula}  (= {note})"


def _item(g):
    if g is None:
        return None
    return float(np.asarray(g).reshape(-1)[0])
