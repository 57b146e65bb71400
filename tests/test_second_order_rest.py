"""Second derivatives through the ops that got a tensor backward last: fmax/fmin, index_add,
index_copy, scatter_add, matmul with 1-D operands, weighted binary_cross_entropy_with_logits and
custom autograd Functions; Hessian-vector products and gradient penalties against PyTorch,
float64 finite differences, and a census that every built-in op has a ``backward_graph``."""

import importlib
import pathlib
import re

import numpy as np
import pytest
from tests.test_second_order import _first_and_second_derivatives

import chainrule as cr
from chainrule.autograd.function import Function
from chainrule.testing import gradgradcheck

_RNG = np.random.default_rng(11)
_A = _RNG.standard_normal((4, 3))
_B = _RNG.standard_normal((4, 3))
_S = _RNG.standard_normal((3, 3))
_V = _RNG.standard_normal(3)
_STACK = _RNG.standard_normal((2, 3, 4))
_N = _RNG.standard_normal((4, 3))
_S42 = _RNG.standard_normal((4, 2))
_LOGITS = _RNG.standard_normal((2, 3)) * 3
_TARGETS = _RNG.uniform(0, 1, (2, 3))
_WEIGHT = _RNG.uniform(0.5, 2, 3)
_POS_WEIGHT = _RNG.uniform(0.5, 3, (2, 3))


def _index(lib, values):
    return lib.tensor(values)


def _const(lib, array):
    return lib.tensor(array, dtype=lib.float64)


# name -> (function of (lib, *tensors), input arrays). Each squares or multiplies its inputs
# first, so that the op's gradient depends on them and the second derivative is not zero.
CASES = {
    "fmax": (lambda L, a, b: L.fmax(a * a, b * a) ** 2, (_A, _B)),
    "fmin": (lambda L, a, b: L.fmin(a * a, b * a) ** 2, (_A, _B)),
    "fmax_broadcast": (lambda L, a, b: L.fmax(a * a, b[0] * b[1]) * a, (_A, _B)),
    "index_add": (
        lambda L, a, s: L.index_add(a * a, 0, _index(L, [0, 2, 0]), s * s * a[:3]) ** 2,
        (_A, _S),
    ),
    "index_add_alpha_dim1": (
        lambda L, a, s: L.index_add(a * a, 1, _index(L, [2, 2, 0]), s * a, alpha=-2.5) ** 2,
        (_A, _B),
    ),
    "index_add_method": (
        lambda L, a, s: (a * a).index_add(0, _index(L, [3, 1, 3]), s * a[:3]).tanh(),
        (_A, _S),
    ),
    "index_copy": (
        lambda L, a, s: L.index_copy(a * a, 0, _index(L, [3, 1, 0]), s * a[:3]) ** 2,
        (_A, _S),
    ),
    "index_copy_dim1": (
        lambda L, a, s: L.index_copy(a * a, 1, _index(L, [2, 0]), s * a[:, :2]) ** 2,
        (_A, _S42),
    ),
    "scatter_add": (
        lambda L, a, s: (
            L.scatter_add(
                a * a, 1, _index(L, [[0, 2], [1, 1], [2, 0]]), s[:, :2] * s[:, 1:] * a[1:, :2]
            )
            ** 2
        ),
        (_A, _S),
    ),
    "scatter_add_dim0": (
        lambda L, a, s: L.scatter_add(
            a * a, 0, _index(L, [[3, 0, 3], [3, 1, 0]]), s[:2] * a[:2]
        ).sigmoid(),
        (_A, _S),
    ),
    "matmul_vector_stack": (lambda L, v, m: L.matmul(v * v, m) ** 2, (_V, _STACK)),
    "matmul_matrix_vector": (lambda L, v, n: L.matmul(n * n, v * v) ** 2, (_V, _N)),
    "matmul_dot": (lambda L, v, w: L.matmul(v * w, w * v) ** 2, (_V, _WEIGHT)),
    "bce_logits_weight": (
        lambda L, z, t: L.nn.functional.binary_cross_entropy_with_logits(
            z * z, t, weight=_const(L, _WEIGHT)
        ),
        (_LOGITS, _TARGETS),
    ),
    "bce_logits_pos_weight": (
        lambda L, z, t: L.nn.functional.binary_cross_entropy_with_logits(
            z * z - 2, t, pos_weight=_const(L, _POS_WEIGHT), reduction="sum"
        ),
        (_LOGITS, _TARGETS),
    ),
    "bce_logits_both_weights": (
        lambda L, z, t: (
            L.nn.functional.binary_cross_entropy_with_logits(
                z, t * t, weight=_const(L, _WEIGHT), pos_weight=_const(L, _WEIGHT), reduction="none"
            )
            ** 2
        ),
        (_LOGITS, _TARGETS),
    ),
}
# PyTorch's scatter_add backward refuses a src larger than the index (it returns a gradient of
# the index's shape): these are checked against finite differences only
FINITE_DIFFERENCES_ONLY = {
    "scatter_add_src_larger_than_index": (
        lambda L, a, s: (
            L.scatter_add(a * a, 1, _index(L, [[0, 2], [1, 1], [2, 0]]), s * a[1:]) ** 2
        ),
        (_A, _S),
    ),
}


def _numpy(lib, t):
    return np.array(t.detach().numpy() if lib.__name__ == "torch" else t.detach().numpy())


@pytest.mark.parametrize("name", sorted(CASES))
def test_hessian_vector_products_match_torch(name):
    torch = pytest.importorskip("torch")
    fn, arrays = CASES[name]
    ours = _first_and_second_derivatives(cr, fn, arrays)
    theirs = _first_and_second_derivatives(torch, fn, arrays)
    for mine, expected in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(CASES | FINITE_DIFFERENCES_ONLY))
def test_second_derivatives_match_finite_differences(name):
    fn, arrays = (CASES | FINITE_DIFFERENCES_ONLY)[name]
    inputs = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    assert gradgradcheck(lambda *xs: fn(cr, *xs), *inputs)


def test_fmax_fmin_second_derivatives_with_nan_match_torch():
    """A NaN loses to a number: the number's side gets the gradient, and its derivative."""
    torch = pytest.importorskip("torch")
    b = _B.copy()
    b[0, 1] = b[2, 2] = np.nan
    for op in ("fmax", "fmin"):

        def fn(lib, x, y, op=op):
            return getattr(lib, op)(x * x, y * x) ** 2

        ours = _first_and_second_derivatives(cr, fn, (_A, b))
        theirs = _first_and_second_derivatives(torch, fn, (_A, b))
        for mine, expected in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
            np.testing.assert_allclose(mine, expected, rtol=1e-10, atol=1e-12)


def _message_passing_penalty(lib, dtype):
    """A graph layer (gather by source node, index_add into targets, scatter_add of edge
    weights) with a gradient penalty on the node features; the weights' gradients."""
    rng = np.random.default_rng(4)
    float_type = getattr(lib, dtype)
    x = lib.tensor(rng.standard_normal((5, 3)), dtype=float_type, requires_grad=True)
    w = lib.tensor(rng.standard_normal((3, 4)), dtype=float_type, requires_grad=True)
    edge = lib.tensor(rng.uniform(0.5, 1.5, 6), dtype=float_type, requires_grad=True)
    src, dst = lib.tensor([0, 1, 2, 3, 4, 0]), lib.tensor([1, 2, 2, 0, 0, 4])
    h = lib.tanh(x @ w)
    messages = h.index_select(0, src) * edge.unsqueeze(1)
    agg = lib.index_add(lib.zeros(5, 4, dtype=float_type), 0, dst, messages)
    degree = lib.scatter_add(lib.zeros(5, dtype=float_type), 0, dst, edge)
    out = lib.fmax(agg / (degree.unsqueeze(1) + 1), h * 0.5)
    (grad_x,) = lib.autograd.grad((out**2).sum(), [x], create_graph=True)
    loss = out.mean() + ((grad_x**2).sum(1) - 1).pow(2).mean()
    loss.backward()
    return [_numpy(lib, t.grad) for t in (x, w, edge)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gradient_penalty_through_message_passing_matches_torch(dtype):
    torch = pytest.importorskip("torch")
    rtol, atol = (1e-10, 1e-12) if dtype == "float64" else (1e-4, 1e-5)
    ours = _message_passing_penalty(cr, dtype)
    for mine, expected in zip(ours, _message_passing_penalty(torch, dtype)):
        assert mine.dtype == np.dtype(dtype)
        np.testing.assert_allclose(mine, expected, rtol=rtol, atol=atol)


def test_gradient_penalty_with_a_frozen_source():
    """Only the inputs that need a gradient get one (the op's needs_grad is respected)."""
    torch = pytest.importorskip("torch")
    results = []
    for lib in (cr, torch):
        x = lib.tensor(_A, dtype=lib.float64, requires_grad=True)
        source = lib.tensor(_S, dtype=lib.float64)  # no gradient wanted
        out = lib.index_copy(x * x, 0, lib.tensor([3, 1, 0]), source) ** 2
        (grad_x,) = lib.autograd.grad(out.sum(), [x], create_graph=True)
        (hessian_row_sums,) = lib.autograd.grad(grad_x.sum(), [x])
        results.append(_numpy(lib, hessian_row_sums))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12)


# ---- custom autograd Functions -----------------------------------------------------------------
def _legendre(lib):
    class Legendre3(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, scale):
            ctx.save_for_backward(x)
            ctx.scale = scale
            return scale * 0.5 * (5 * x**3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * ctx.scale * 1.5 * (5 * x**2 - 1), None

    return Legendre3


def test_custom_function_backward_is_differentiated_like_torch():
    """Under create_graph=True the user's backward runs in grad mode: its tensor ops on the
    upstream gradient and the saved input are recorded (third derivative included)."""
    torch = pytest.importorskip("torch")
    values = np.array([-0.8, 0.1, 0.6])
    results = []
    for lib in (cr, torch):
        x = lib.tensor(values, dtype=lib.float64, requires_grad=True)
        y = _legendre(lib).apply(x * 2, 0.5)
        (g,) = lib.autograd.grad((y * y).sum(), [x], create_graph=True)
        (h,) = lib.autograd.grad((g * g).sum(), [x], create_graph=True)
        (k,) = lib.autograd.grad(h.sum(), [x])
        results.append([_numpy(lib, t) for t in (g, h, k)])
    for mine, expected in zip(*results):
        np.testing.assert_allclose(mine, expected, rtol=1e-12)
    x = cr.tensor(values, dtype="float64", requires_grad=True)
    assert gradgradcheck(lambda t: _legendre(cr).apply(t * t, 0.5), x)


def test_once_differentiable_refuses_a_second_derivative():
    legendre = _legendre(cr)

    class Once(legendre):
        @staticmethod
        @cr.autograd.once_differentiable
        def backward(ctx, grad_output):
            return legendre.backward(ctx, grad_output)

    x = cr.tensor([0.3, -0.7], dtype="float64", requires_grad=True)
    y = Once.apply(x * 2, 0.5)
    (g,) = cr.autograd.grad((y * y).sum(), [x], create_graph=True)
    plain = cr.autograd.grad((y * y).sum(), [x], retain_graph=True)[0]  # keep the graph for g's
    np.testing.assert_allclose(g.detach().numpy(), plain.detach().numpy())
    with pytest.raises(cr.GraphError, match="Once.backward is marked @once_differentiable"):
        cr.autograd.grad((g * g).sum(), [x])


# ---- every op has a tensor backward --------------------------------------------------------------
# Function subclasses in src/chainrule that need no backward_graph of their own, and why.
# Every entry must still exist and still have subclasses; add one only with its reason.
NO_BACKWARD_GRAPH = {
    # abstract bases, never applied: each subclass (Norm2, Norm1, NormInf) has its own
    "chainrule.ops.norm._Norm",
    # abstract base of CrossEntropy and CrossEntropyProbs, which have their own
    "chainrule.ops.loss_cross_entropy._CrossEntropyBase",
}

_CLASS = re.compile(r"^class (\w+)\(([^)]*)\)", re.MULTILINE)


def _modules_defining_ops() -> set:
    """The modules of src/chainrule that define a class deriving, by name, from Function or from
    another such class: a text scan, so modules that nothing imports are found too."""
    root = pathlib.Path(cr.__file__).parent
    bases_of, module_of = {}, {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        for name, bases in _CLASS.findall(path.read_text(encoding="utf-8")):
            bases_of.setdefault(name, set()).update(
                b.strip().rpartition(".")[2] for b in bases.split(",")
            )
            module_of.setdefault(name, set()).add(module)
    ops, grew = {"Function"}, True
    while grew:
        found = {name for name, bases in bases_of.items() if bases & ops}
        grew, ops = not found <= ops, ops | found
    return {module for name in ops - {"Function"} for module in module_of[name]}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_builtin_op_has_a_backward_graph():
    modules = _modules_defining_ops()
    assert {"chainrule.ops.elementwise", "chainrule.nn.embedding"} <= modules
    for module in sorted(modules):
        importlib.import_module(module)
    ops = {
        f"{c.__module__}.{c.__qualname__}": c
        for c in _subclasses(Function)
        if c.__module__.startswith("chainrule.")
    }
    assert len(ops) > 100
    missing = sorted(
        name
        for name, cls in ops.items()
        if cls.backward_graph is Function.backward_graph and name not in NO_BACKWARD_GRAPH
    )
    assert not missing, f"ops without backward_graph (second derivatives): {missing}"
    for name in NO_BACKWARD_GRAPH:
        assert name in ops and ops[name].__subclasses__(), f"stale allow-list entry {name}"
    # an op that redefines backward must redefine backward_graph with it, or it would inherit
    # a rule for another op's backward
    stale = sorted(
        name
        for name, cls in ops.items()
        if "backward" in vars(cls)
        and "backward_graph" not in vars(cls)
        and cls.__bases__[0] is not Function
        and name not in NO_BACKWARD_GRAPH
    )
    assert not stale, f"ops whose backward_graph belongs to a base class's backward: {stale}"


def test_an_op_without_backward_graph_names_the_fix():
    class Square(Function):
        label = "square"

        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad):
            return (grad * 2 * self.x,)

    x = cr.tensor([0.5, 1.5], dtype="float64", requires_grad=True)
    with pytest.raises(
        NotImplementedError,
        match=r"create_graph=True\) through Square.*Square has a backward on arrays but no",
    ):
        cr.autograd.grad(Square.apply(x).sum(), [x], create_graph=True)
