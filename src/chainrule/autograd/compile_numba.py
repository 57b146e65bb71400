"""The jit tier of ``cr.compile``: a recorded graph and its optimizer as one Numba function.

Only with the optional ``[jit]`` extra (numba). The generated kernel takes the arguments, the
parameters, the per-call arrays and the optimizer's state, runs every op's forward and backward
kernel (``compile_kernels``) in the recorded order, applies the optimizer's update in place and
returns the loss and the gradients. One call from Python per training step, no NumPy dispatch
per op: on small networks it is many times faster than any per-op path.

:func:`unsupported` says why a graph or optimizer cannot use this tier (or ``None``).
"""

from __future__ import annotations

import numpy as np

from chainrule.autograd.compile_graph import ARG, LEAF, RAND, VAL, Graph
from chainrule.autograd.compile_python import Fallback, define, graph_shape
from chainrule.ops.activation import LeakyReLU, ReLU, Sigmoid, Tanh
from chainrule.ops.elementwise import Mul
from chainrule.ops.loss import (
    BinaryCrossEntropy,
    BinaryCrossEntropyWithLogits,
    CrossEntropy,
    plain_class_indices,
)
from chainrule.ops.loss_regression import L1, MSE, Huber
from chainrule.ops.matmul import Linear

# losses of the form loss(input, target) with reduction="mean": the kernels' name stem
_PAIR_LOSSES = {BinaryCrossEntropy: "bce_prob", MSE: "mse", L1: "l1", Huber: "huber"}
_LOSSES = (BinaryCrossEntropyWithLogits, CrossEntropy, *_PAIR_LOSSES)
_LOSS_NAMES = (
    "BCEWithLogitsLoss, BCELoss, MSELoss, L1Loss, HuberLoss or class-index CrossEntropyLoss"
)


def available() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def unsupported(graph: Graph, optimizer) -> str | None:
    """Why ``graph`` with ``optimizer`` cannot run in the jit tier, or None if it can."""
    if not available():
        return "numba is not installed (pip install chainrule[jit])"
    if optimizer is None:
        return "the jit tier fuses the optimizer step: pass optimizer="
    reason = _optimizer_reason(optimizer)
    if reason:
        return reason
    if graph.effects:
        return "a layer updates state after the forward pass (BatchNorm's running statistics)"
    for node in graph.nodes:
        reason = _node_reason(graph, node)
        if reason:
            return f"op {node.cls.__name__}: {reason}"
    if graph.nodes[graph.root].cls not in _LOSSES:
        return f"the loss is not {_LOSS_NAMES} (reduction='mean')"
    return None


def _optimizer_reason(optimizer) -> str | None:
    from chainrule.optim.adam import Adam
    from chainrule.optim.sgd import SGD

    if type(optimizer) not in (SGD, Adam) and type(optimizer).__name__ != "AdamW":
        return f"optimizer {type(optimizer).__name__} has no fused update (SGD, Adam, AdamW do)"
    if "step" in vars(optimizer):  # register_step_pre_hook/post_hook wrapped its step
        return "the optimizer has step hooks, which the fused update would skip"
    for group in optimizer.param_groups:
        if group.get("maximize") or group.get("amsgrad"):
            return "maximize= and amsgrad= have no fused update"
    return None


def _node_reason(graph: Graph, node) -> str | None:
    cls, params = node.cls, node.params
    if cls is Linear:
        if len(node.shape) != 2:
            return "only (batch, features) inputs"
    elif cls in (Sigmoid, Tanh, ReLU, LeakyReLU):
        pass
    elif cls is Mul:
        if any(_shape(graph, r) != node.shape for r in node.refs):
            return "only operands of one shape"
    elif cls is BinaryCrossEntropyWithLogits:
        if params.get("weight") is not None or params.get("pos_weight") is not None:
            return "weights have no jit kernel"
        if params.get("reduction", "mean") != "mean":
            return "only reduction='mean'"
    elif cls in _PAIR_LOSSES:
        return _pair_loss_reason(graph, node)
    elif cls is CrossEntropy:
        labels = node.array_params.get("labels")
        if labels is None or labels[0] != ARG or params.get("reduction", "mean") != "mean":
            return "only class-index targets (an argument) with reduction='mean'"
    else:
        return "no jit kernel"
    return None


def _pair_loss_reason(graph: Graph, node) -> str | None:
    params = node.params
    if params.get("weight") is not None or node.array_params:
        return "weights have no jit kernel"
    if params.get("reduction", "mean") != "mean":
        return "only reduction='mean'"
    if any(_shape(graph, r) != _shape(graph, node.refs[0]) for r in node.refs[:2]):
        return "only input and target of one shape"
    if node.cls is BinaryCrossEntropy and node.needs_grad[1]:
        return "a target that needs a gradient has no jit kernel"
    return None


def _shape(graph: Graph, ref):
    kind, i = ref
    if kind == VAL:
        return graph.nodes[i].shape
    if kind == ARG:
        return graph.arg_shapes[i]
    if kind == LEAF:
        return graph.leaves[i].array.shape
    if kind == RAND:
        return graph.source_shapes[i]
    return None


def _forward_lines(graph: Graph) -> list[str]:
    lines = []
    for k, node in enumerate(graph.nodes):
        ins = [f"{kind}{i}" for kind, i in node.refs]
        cls = node.cls
        if cls is Linear:
            call = (
                f"linear_fwd({', '.join(ins)})"
                if len(ins) == 3
                else (f"linear_fwd_nobias({ins[0]}, {ins[1]})")
            )
        elif cls is Sigmoid:
            call = f"sigmoid_fwd({ins[0]})"
        elif cls is Tanh:
            call = f"tanh_fwd({ins[0]})"
        elif cls is ReLU:
            call = f"relu_fwd({ins[0]})"
        elif cls is LeakyReLU:
            call = f"leaky_relu_fwd({ins[0]}, {_slope(node)})"
        elif cls in _PAIR_LOSSES:
            call = f"{_PAIR_LOSSES[cls]}_fwd({ins[0]}, {ins[1]}{_delta(node)})"
        elif cls is Mul:
            call = f"mul_fwd({ins[0]}, {ins[1]})"
        elif cls is BinaryCrossEntropyWithLogits:
            call = f"bce_fwd({ins[0]}, {ins[1]})"
        else:  # CrossEntropy with labels
            kind, i = node.array_params["labels"]
            lines.append(f"    v{k}, sm{k} = ce_fwd({ins[0]}, {kind}{i})")
            continue
        lines.append(f"    v{k} = {call}")
        if cls is BinaryCrossEntropy:  # p outside [0, 1] (NaN loss): no update, run eagerly
            lines.append(f"    if v{k} != v{k}:\n        return v{k}")
    return lines


def _slope(node) -> str:
    return f"np.{node.dtype.name}({float(node.params['negative_slope'])!r})"


def _delta(node) -> str:
    return f", {float(node.params.get('delta', 1.0))!r}" if node.cls is Huber else ""


def _grads_of(graph: Graph, k: int, node) -> list[tuple[int, str]]:
    """(input position, expression or statement prefix) of each gradient node ``k`` sends."""
    ins = [f"{kind}{i}" for kind, i in node.refs]
    need = node.needs_grad
    cls, g = node.cls, f"g{k}"
    if cls is Linear:
        x = ins[0]
        w = ins[1]
        parts = [f"    gx{k}, gw{k}, gb{k} = linear_bwd({g}, {x}, {w}, {need[0]})"]
        return parts, [(0, f"gx{k}"), (1, f"gw{k}"), (2, f"gb{k}")][: len(ins)]
    if cls is Sigmoid:
        return [], [(0, f"sigmoid_bwd({ins[0]}, {g})")]
    if cls is Tanh:
        return [], [(0, f"tanh_bwd(v{k}, {g})")]
    if cls is ReLU:
        return [], [(0, f"relu_bwd(v{k}, {g})")]
    if cls is LeakyReLU:
        return [], [(0, f"leaky_relu_bwd({ins[0]}, {g}, {_slope(node)})")]
    if cls in _PAIR_LOSSES:
        call = f"{_PAIR_LOSSES[cls]}_bwd({ins[0]}, {ins[1]}, {g}{_delta(node)})"
        return [f"    gl{k} = {call}"], [(0, f"gl{k}"), (1, f"neg(gl{k})")]
    if cls is Mul:
        return [], [(0, f"mul_fwd({g}, {ins[1]})"), (1, f"mul_fwd({g}, {ins[0]})")]
    if cls is BinaryCrossEntropyWithLogits:
        return [], [(0, f"bce_bwd({ins[0]}, {ins[1]}, {g})")]
    kind, i = node.array_params["labels"]
    return [], [(0, f"ce_bwd(sm{k}, {kind}{i}, {g})")]


def generate_kernel_source(graph: Graph, kind: str, group_of: list, stateful: list) -> str:
    """Source of ``kernel(args, leaves, sources, state, grads, H) -> loss``.

    ``group_of[j]`` is leaf j's parameter group (its row of the hyperparameter table ``H``);
    ``stateful[j]`` says whether leaf j has optimizer state arrays (``m{j}``, and ``s{j}`` for
    Adam). Each array is its own argument: Numba dispatches tuples of arrays several times
    slower than the arrays themselves. Gradients are written into the arrays ``q{j}`` (kept
    from step to step) rather than returned: boxing a returned array costs more than the
    whole step of a small network.
    """
    names = [f"a{i}" for i in range(graph.n_args)]
    names += [f"p{j}" for j in range(len(graph.leaves))]
    names += [f"r{j}" for j in range(len(graph.sources))]
    for j, has in enumerate(stateful):
        if has:
            names += [f"m{j}"] if kind == "sgd" else [f"m{j}", f"s{j}"]
    names += [f"q{j}" for j, leaf in enumerate(graph.leaves) if leaf.requires_grad]
    names.append("H")
    lines = [f"def kernel({', '.join(names)}):"]
    lines += _forward_lines(graph)
    lines.append(f"    g{graph.root} = np.{graph.nodes[graph.root].dtype.name}(1.0)")
    grads: dict = {}  # (kind, index) -> expression name holding the summed gradient
    for k in graph.order:
        node = graph.nodes[k]
        if (VAL, k) not in grads and k != graph.root:
            continue
        if k != graph.root:
            lines.append(f"    g{k} = {grads[(VAL, k)]}")
        pre, outs = _grads_of(graph, k, node)
        lines += pre
        for i, expr in outs:
            ref = node.refs[i]
            if not node.needs_grad[i] or ref[0] not in (VAL, LEAF):
                continue
            target = f"t{ref[0]}{ref[1]}_{k}"
            lines.append(f"    {target} = {expr}")
            if ref in grads:
                lines.append(f"    {target} = {grads[ref]} + {target}")
            grads[ref] = target
    for j in range(len(graph.leaves)):
        expr = grads.get((LEAF, j))
        if expr is None:
            continue
        lines.append(f"    q{j}[...] = {expr}")
        h = [f"H[{group_of[j]}, {c}]" for c in range(6)]
        if kind == "sgd":
            buf = f"m{j}" if stateful[j] else f"p{j}"  # no momentum: the buffer is never read
            lines.append(
                f"    sgd_update(p{j}, {expr}, {buf}, {h[0]}, {h[1]}, {h[2]}, {h[3]}, "
                f"{h[4]} != 0, {h[5]} != 0)"
            )
        else:
            lines.append(f"    adam_update(p{j}, {expr}, m{j}, s{j}, {', '.join(h)})")
    lines.append(f"    return v{graph.root}")
    return "\n".join(lines) + "\n"


class NumbaStep:
    """Runs one fused training step of ``graph`` with ``optimizer`` through a Numba kernel."""

    def __init__(self, graph: Graph, optimizer):
        from numba import njit

        from chainrule.autograd import compile_kernels
        from chainrule.optim.sgd import SGD

        self.graph, self.optimizer = graph, optimizer
        self.kind = "sgd" if isinstance(optimizer, SGD) else "adam"
        groups = optimizer.param_groups
        where = {id(p): gi for gi, group in enumerate(groups) for p in group["params"]}
        missing = [t for t in graph.leaves if t.requires_grad and id(t) not in where]
        if missing:
            raise ValueError("a parameter the loss depends on is not in the optimizer")
        # leaves the optimizer does not update (frozen ones) point at a group row of zeros
        group_of = [where.get(id(t), len(groups)) for t in graph.leaves]
        self.hyper = np.zeros((len(groups) + 1, 6))
        self.extra = [
            p for g in groups for p in g["params"] if all(p is not t for t in graph.leaves)
        ]
        self.with_grad = [t for t in graph.leaves if t.requires_grad]
        self.grads = [np.zeros_like(t.array) for t in self.with_grad]
        self.last = [None] * len(groups)
        momentum = {id(p) for g in groups if g.get("momentum", 1) != 0 for p in g["params"]}
        self.updated = [t.requires_grad and id(t) in momentum for t in graph.leaves]
        self.any_state = any(self.updated)
        self.source = generate_kernel_source(graph, self.kind, group_of, self.updated)
        ns = {name: getattr(compile_kernels, name) for name in dir(compile_kernels)}
        ns["np"] = np
        self.kernel = njit(define(self.source, ns, "kernel"))
        self._compile_now()
        self.dtype = graph.nodes[graph.root].dtype
        # class-index targets are checked as the eager loss checks them: the kernel indexes
        # with them unchecked
        self.label_checks = [
            (np.broadcast_to(np.empty((), node.dtype), graph_shape(graph, node)), ref[1])
            for node in graph.nodes
            for ref in [node.array_params.get("labels")]
            if ref is not None and ref[0] == ARG
        ]
        # BCELoss's kernel returns NaN, before any update, for probabilities outside [0, 1]:
        # such a call is undone (optimizer state, random generators) and run eagerly
        self.guarded = any(node.cls is BinaryCrossEntropy for node in graph.nodes)
        self.created: list = []

    def _compile_now(self) -> None:
        """Compile the kernel for this graph's argument types now, while recording, rather
        than inside the first replayed step (compilation leaves much cyclic garbage)."""
        import numba

        graph = self.graph
        examples = [np.empty(s, d) for s, d in zip(graph.arg_shapes, graph.arg_dtypes)]
        examples += [t.array for t in graph.leaves]
        examples += [np.empty(s, d) for s, d in zip(graph.source_shapes, graph.source_dtypes)]
        for t, updated in zip(graph.leaves, self.updated):
            if updated:
                examples += [t.array] * (1 if self.kind == "sgd" else 2)
        examples += self.grads + [self.hyper]
        self.kernel.compile(tuple([numba.typeof(a) for a in examples]))

    def _state(self):
        """Optimizer state arrays in kernel order, created as the eager optimizer creates them;
        and whether a momentum buffer is new (its first step copies the gradient)."""
        state = self.optimizer.state
        first = False
        arrays = []
        created = self.created
        created.clear()
        for t, updated in zip(self.graph.leaves, self.updated):
            if not updated:
                continue
            st = state.get(t)
            if self.kind == "sgd":
                buf = None if st is None else st.get("momentum_buffer")
                if buf is None:
                    first = True
                    buf = np.zeros_like(t.array)
                    state.setdefault(t, {})["momentum_buffer"] = buf
                    created.append(t)
                arrays.append(buf)
                continue
            if not st:
                st = state[t] = {
                    "step": 0,
                    "exp_avg": np.zeros_like(t.array),
                    "exp_avg_sq": np.zeros_like(t.array),
                }
                created.append(t)
            st["step"] += 1
            arrays.append(st["exp_avg"])
            arrays.append(st["exp_avg_sq"])
        return arrays, first

    def _undo_state(self) -> None:
        """Take back what :meth:`_state` did for a call that then ran no update."""
        state = self.optimizer.state
        new = {id(t) for t in self.created}
        for t, updated in zip(self.graph.leaves, self.updated):
            if not updated:
                continue
            if self.kind == "adam":
                state[t]["step"] -= 1
            if id(t) in new:
                state[t].pop("momentum_buffer", None)
                if self.kind == "adam" or not state[t]:
                    del state[t]
        self.created.clear()

    def _fill_hyper(self, first) -> None:
        hyper = self.hyper
        for gi, group in enumerate(self.optimizer.param_groups):
            row = hyper[gi]
            if self.kind == "sgd":
                values = (
                    group["lr"],
                    group["momentum"],
                    group["dampening"],
                    group["weight_decay"],
                    1.0 if group["nesterov"] else 0.0,
                    1.0 if first else 0.0,
                )
                if values != self.last[gi]:  # written only when a scheduler changed them
                    row[:] = values
                    self.last[gi] = values
                continue
            lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            beta1, beta2 = (float(b) for b in group["betas"])
            t = self.optimizer.state[group["params"][0]]["step"] if group["params"] else 1
            correction2 = (1.0 - beta2**t) ** 0.5
            decoupled = group["decoupled_weight_decay"]
            row[0] = 1.0 - lr * wd if decoupled and wd != 0 else 1.0
            row[1] = 0.0 if decoupled else wd
            row[2], row[3] = beta1, beta2
            row[4] = lr * correction2 / (1.0 - beta1**t)
            row[5] = eps * correction2

    def run(self, arrays: list) -> np.ndarray:
        for z, i in self.label_checks:
            if not plain_class_indices(z, arrays[i], -100):
                raise Fallback
        graph = self.graph
        leaves = [t.array for t in graph.leaves]
        saved = _generator_states(graph) if self.guarded and graph.sources else ()
        sources = [make(*args) for make, args in graph.sources]
        states, first = self._state() if self.any_state else ((), False)
        self._fill_hyper(first)
        args = [a if a.flags.c_contiguous else np.ascontiguousarray(a) for a in arrays]
        grads = self.grads
        loss = self.kernel(*args, *leaves, *sources, *states, *grads, self.hyper)
        if self.guarded and loss != loss:
            self._undo_state()
            for gen, state in saved:
                gen.set_state_from_dict(state)
            raise Fallback
        for t, g in zip(self.with_grad, grads):
            t.grad_array = g
        for p in self.extra:
            p.grad_array = None
        return np.array(loss, self.dtype)


def _generator_states(graph: Graph) -> list:
    """(generator, state) of every generator the per-call arrays draw from."""
    from chainrule.random import Generator, default_generator

    gens = [default_generator]
    for _, args in graph.sources:
        gens += [a for a in args if isinstance(a, Generator) and all(a is not g for g in gens)]
    return [(gen, gen.state_as_dict()) for gen in gens]
