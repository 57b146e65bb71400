"""The autodiff engine: graph recording, backward order, accumulation, freeing, dtypes."""

import gc
import sys
import weakref

import numpy as np
import pytest

import chainrule as cr
from chainrule.autograd.engine import sum_to_shape, topological_order


# ---- sum_to_shape: the one place broadcasting is undone -------------------------------------
@pytest.mark.parametrize(
    "grad_shape, shape",
    [
        ((4, 3), (3,)),
        ((4, 3), (4, 1)),
        ((4, 3), (1, 3)),
        ((2, 4, 3), (4, 1)),
        ((4, 3), ()),
        ((5,), (5,)),
        ((2, 1, 3), (1, 1, 3)),
    ],
)
def test_sum_to_shape_matches_explicit_sums(grad_shape, shape):
    grad = np.arange(np.prod(grad_shape), dtype=np.float64).reshape(grad_shape)
    out = sum_to_shape(grad, shape)
    assert out.shape == shape
    # The adjoint of broadcasting: <broadcast(x), g> == <x, sum_to_shape(g)> for every x.
    x = np.random.default_rng(1).standard_normal(shape)
    assert np.isclose(np.sum(np.broadcast_to(x, grad_shape) * grad), np.sum(x * out))


def test_broadcast_gradient_is_summed_to_input_shape():
    a = cr.tensor(np.ones((4, 3)), requires_grad=True)
    b = cr.tensor(np.ones(3), requires_grad=True)
    c = cr.tensor(2.0, requires_grad=True)
    ((a * b) * c).sum().backward()
    assert b.grad_array.shape == (3,) and np.allclose(b.grad_array, 8.0)
    assert c.grad_array.shape == () and np.isclose(c.grad_array, 12.0)


# ---- recording --------------------------------------------------------------------------------
def test_graph_only_recorded_when_needed():
    x = cr.tensor([1.0, 2.0])
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    assert (x * x).grad_fn is None and not (x * x).requires_grad
    assert (x * w).grad_fn is not None
    with cr.no_grad():
        y = x * w
    assert y.grad_fn is None and not y.requires_grad


def test_no_grad_and_enable_grad_nest_and_decorate():
    w = cr.tensor([1.0], requires_grad=True)

    @cr.no_grad()
    def frozen():
        with cr.enable_grad():
            inner = w * 2
        return w * 2, inner

    outer, inner = frozen()
    assert not outer.requires_grad and inner.requires_grad
    assert cr.is_grad_enabled()


def test_detach_cuts_the_graph_and_shares_memory():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    d = (w * 3).detach()
    assert not d.requires_grad and d.grad_fn is None
    (w * d).sum().backward()
    assert np.allclose(w.grad_array, [3.0, 6.0])


# ---- backward ---------------------------------------------------------------------------------
def test_gradients_accumulate_across_backward_calls():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    (w * 3).sum().backward()
    assert np.allclose(w.grad_array, [2 + 3, -4 + 3])
    w.zero_grad()
    assert w.grad_array is None


def test_fan_out_adds_the_paths():
    x = cr.tensor(3.0, requires_grad=True)
    y = x * x + x * 2 + x  # dy/dx = 2x + 3
    y.backward()
    assert x.grad_array == pytest.approx(9.0)


def test_leaf_grad_never_aliases_upstream_or_another_leaf():
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.tensor([3.0, 4.0], requires_grad=True)
    (a + b).backward(np.array([1.0, 1.0], dtype=np.float32))
    assert a.grad_array is not b.grad_array
    a.grad_array += 5
    assert np.allclose(b.grad_array, [1.0, 1.0])


def test_backward_on_non_scalar_needs_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.GraphError, match="single-element"):
        (w * 2).backward()
    (w * 2).backward(np.ones(2))
    assert np.allclose(w.grad_array, 2.0)


def test_backward_grad_shape_is_checked():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.ShapeError):
        (w * 2).backward(np.ones(3))


def test_backward_without_requires_grad_is_an_error():
    with pytest.raises(cr.GraphError, match="does not require grad"):
        cr.tensor([1.0]).sum().backward()


def test_second_backward_through_freed_graph_raises():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w.sigmoid() * w).sum()
    loss.backward()
    with pytest.raises(cr.GraphError, match="retain_graph=True"):
        loss.backward()


def test_retain_graph_allows_a_second_backward():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = (w.sigmoid() * w).sum()
    loss.backward(retain_graph=True)
    first = w.grad_array.copy()
    loss.backward()
    assert np.allclose(w.grad_array, 2 * first)


def test_saved_arrays_are_freed_after_backward():
    w = cr.tensor(np.ones(3), requires_grad=True)
    out = w.exp()
    fn = out.grad_fn
    loss = out.sum()
    loss.backward()
    assert not hasattr(fn, "out") and fn.freed


def test_retain_grad_on_non_leaf():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    h.retain_grad()
    (h * h).sum().backward()
    assert np.allclose(h.grad_array, 2 * h.array)
    assert np.allclose(w.grad_array, 3 * 2 * h.array)


def test_deep_chain_does_not_hit_the_recursion_limit():
    x = cr.tensor(1.0, requires_grad=True, dtype="float64")
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0
    assert sys.getrecursionlimit() < 200_000
    y.backward()
    assert x.grad_array == pytest.approx(1.0)


def test_topological_order_puts_consumers_first():
    a = cr.tensor(1.0, requires_grad=True)
    b = a * 2
    c = b + a  # uses b and a
    d = c * b  # b reaches d directly and through c
    order = topological_order(d.grad_fn)
    position = {id(fn): i for i, fn in enumerate(order)}
    assert position[id(d.grad_fn)] < position[id(c.grad_fn)] < position[id(b.grad_fn)]
    d.backward()
    # d = (2a + a) * 2a = 6a² → dd/da = 12a
    assert a.grad_array == pytest.approx(12.0)


@pytest.mark.parametrize("seed", range(40))
def test_topological_order_chain_walk_matches_depth_first_search(seed):
    """The chain shortcut must give exactly the search's order (gradient sums depend on it),
    on chains, on graphs that branch after a chain prefix and on graphs that repeat an input."""
    from chainrule.autograd.engine import _depth_first_order

    rng = np.random.default_rng(seed)
    w = cr.tensor(rng.standard_normal(3), requires_grad=True)
    v = cr.tensor(rng.standard_normal(3), requires_grad=True)
    made = [w * 1.0]
    for _ in range(int(rng.integers(1, 12))):
        kind = rng.integers(0, 4)
        h = made[-1]
        if kind == 0:
            made.append(h.tanh())
        elif kind == 1:
            made.append(h * v)  # one op input and a leaf: still a chain
        elif kind == 2:
            made.append(h * h)  # the same op output twice: still a chain
        else:
            made.append(h + made[int(rng.integers(0, len(made)))])  # may branch
    root = made[-1].sum()
    fast, searched = topological_order(root.grad_fn), _depth_first_order(root.grad_fn)
    assert [id(fn) for fn in fast] == [id(fn) for fn in searched]
    root.backward()
    assert np.all(np.isfinite(w.grad_array))


def test_same_inputs_give_identical_bits():
    def run():
        cr.manual_seed(7)
        x = cr.randn(64, 8)
        w = cr.randn(8, 16, requires_grad=True)
        v = cr.randn(16, 1, requires_grad=True)
        h = (x @ w).tanh()
        loss = ((h @ v).sigmoid() + h.sum(axis=1, keepdims=True) * 0.01).mean()
        loss.backward()
        return loss.array.tobytes(), w.grad_array.tobytes(), v.grad_array.tobytes()

    assert run() == run()


def test_graph_has_no_reference_cycles():
    w = cr.tensor(np.ones(3), requires_grad=True)
    loss = (w.sigmoid() * w).sum()
    ref = weakref.ref(loss.grad_fn)
    gc.disable()
    try:
        del loss
        assert ref() is None  # freed by reference counting alone
    finally:
        gc.enable()


# ---- dtypes -----------------------------------------------------------------------------------
def test_float32_default_float64_on_request():
    assert cr.tensor([1.0, 2.0]).dtype == np.float32
    assert cr.tensor(np.array([1.0])).dtype == np.float32
    assert cr.tensor([1.0], dtype="float64").dtype == np.float64
    assert cr.tensor([1.0], dtype=np.float64).dtype == np.float64
    assert cr.tensor([1, 2]).dtype.kind == "i"
    assert cr.tensor([True]).dtype == np.bool_


def test_python_scalars_never_upcast():
    x = cr.tensor([1.0, 2.0])
    for y in (x * 2.5, 2.5 * x, x + 1, x / 3.0, x**2, 1.0 - x):
        assert y.dtype == np.float32


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(cr.DTypeError, match="floating-point"):
        cr.tensor([1, 2], requires_grad=True)
    with pytest.raises(cr.DTypeError):
        cr.tensor(["a", "b"])


def test_comparisons_give_bool_tensors_without_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    mask = w > 1.5
    assert mask.dtype == np.bool_ and not mask.requires_grad
    assert mask.tolist() == [False, True]


def test_numpy_interop():
    t = cr.tensor([[1.0, 2.0]], requires_grad=True)
    assert np.asarray(t).shape == (1, 2)
    out = np.ones((1, 2), dtype=np.float32) * t  # ndarray on the left defers to Tensor
    assert isinstance(out, cr.Tensor) and out.requires_grad
    out.sum().backward()
    assert np.asarray(t.grad_array).tolist() == [[1.0, 1.0]]
    assert len(t) == 1 and t.ndim == 2 and t.shape == (1, 2)
    assert "requires_grad=True" in repr(t)


def test_inplace_assignment_guarded_under_grad():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.GraphError):
        w[0] = 5.0
    with cr.no_grad():
        w[0] = 5.0
    assert w.tolist() == [5.0, 2.0]


def test_creation_functions_and_generator_reproducibility():
    g1, g2 = cr.Generator(3), cr.Generator(3)
    assert np.array_equal(cr.randn(4, 2, generator=g1).array, cr.randn(4, 2, generator=g2).array)
    cr.manual_seed(5)
    a = cr.rand(3).array
    cr.manual_seed(5)
    assert np.array_equal(a, cr.rand(3).array)
    assert cr.zeros(2, 3).shape == (2, 3) and cr.ones((2,)).tolist() == [1.0, 1.0]
    assert cr.full((2,), 7.0).tolist() == [7.0, 7.0]
    assert cr.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert cr.arange(3).tolist() == [0, 1, 2]
    assert cr.zeros_like(cr.ones(2, 2)).shape == (2, 2)
    assert cr.ones_like(np.zeros(3)).tolist() == [1.0, 1.0, 1.0]


def test_generator_state_round_trip():
    g = cr.Generator(11)
    g.numpy.random(5)
    state = g.get_state()
    expected = g.numpy.random(3)
    h = cr.Generator(0)
    h.set_state(state)
    assert np.array_equal(h.numpy.random(3), expected)


def test_gradcheck_reports_the_failing_element():
    from chainrule.autograd.function import Function

    class WrongSquare(Function):
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, grad):
            return (grad * self.x,)  # should be 2x

    x = cr.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    with pytest.raises(cr.GradcheckError, match=r"input 0 at element \(0,\)"):
        cr.gradcheck(lambda t: WrongSquare.apply(t), x)
    with pytest.raises(cr.GradcheckError):
        cr.gradcheck(lambda t: WrongSquare.apply(t), x, fast=True)
    assert cr.gradcheck(lambda t: t * t, x)


def test_import_needs_only_numpy():
    import subprocess

    code = (
        "import sys, chainrule as cr\n"
        "x = cr.tensor([1.0], requires_grad=True); (x * x).sum().backward()\n"
        "heavy = ('rich', 'matplotlib', 'safetensors', 'torch', 'starlette', 'scipy', 'sklearn')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_ops_that_skip_the_engine_shape_check_return_gradients_of_their_inputs_shapes(
    monkeypatch,
):
    """``grads_match_inputs = True`` lets the engine skip sum_to_shape: prove each such op
    returns gradients of exactly its inputs' shapes, over scalars, vectors, one-row batches,
    batches and stacks, with and without a bias."""
    import chainrule.ops  # noqa: F401 - registers every op class
    from chainrule import ops
    from chainrule.autograd.function import Function

    flagged = {c for c in _subclasses(Function) if c.__dict__.get("grads_match_inputs")}
    assert {c.__name__ for c in flagged} >= {"Linear", "Sigmoid", "Tanh", "ReLU"}
    seen = []
    for cls in flagged:
        original = cls.backward

        def checked(self, grad, _original=original):
            shapes = [np.shape(p.array) for p in self.parents]
            grads = _original(self, grad)
            for shape, g, needed in zip(shapes, grads, self.needs_grad):
                if g is not None and needed:
                    assert np.shape(g) == shape, (type(self).__name__, shape, np.shape(g))
            seen.append(type(self))
            return grads

        monkeypatch.setattr(cls, "backward", checked)
    rng = np.random.default_rng(0)

    def leaf(*shape):
        return cr.tensor(rng.standard_normal(shape), requires_grad=True, dtype="float64")

    for shape in [(), (3,), (1, 1), (4, 3), (2, 3, 4)]:
        for activation in (ops.sigmoid, ops.tanh, ops.relu):
            activation(leaf(*shape)).sum().backward()
    for x_shape in [(3,), (1, 3), (4, 3), (2, 4, 3)]:
        for bias in (True, False):
            b = leaf(2) if bias else None
            ops.linear(leaf(*x_shape), leaf(2, 3), b).sum().backward()
    for shape in [(3,), (1, 1), (4, 3), (2, 3, 4)]:
        cr.flip(leaf(*shape), -1).sum().backward()
        cr.roll(leaf(*shape), 1, -1).sum().backward()
        cr.roll(leaf(*shape), 2).sum().backward()
        leaf(*shape).repeat(*([2] * len(shape))).sum().backward()
        leaf(*shape).repeat(3, *([1] * len(shape))).sum().backward()
        if len(shape) >= 2:
            cr.tril(leaf(*shape), -1).sum().backward()
            cr.diagonal(leaf(*shape), 1, -1, 0).sum().backward()
            if len(shape) == 2:
                cr.trace(leaf(*shape)).backward()
        else:
            cr.diag(leaf(*shape), -1).sum().backward()
        cr.cumprod(leaf(*shape), -1).sum().backward()
        cr.logcumsumexp(leaf(*shape), -1).sum().backward()
        if len(shape) >= 2:
            cr.rot90(leaf(*shape), 3, (-1, 0)).sum().backward()
        cr.median(leaf(*shape)).backward()
        cr.std(leaf(*shape), dim=-1).sum().backward()
        cr.nn.functional.hardtanh(leaf(*shape)).sum().backward()
        cr.nan_to_num(leaf(*shape)).sum().backward()
        cr.std(leaf(*shape)).backward()
    for kind in ("RNN", "LSTM", "GRU"):  # one op per layer, and per step in the cells
        for bias in (True, False):
            layer = getattr(cr.nn, kind)(3, 2, bias=bias, bidirectional=True, dtype="float64")
            out, _ = layer(leaf(4, 2, 3))
            out.sum().backward()
            cell = getattr(cr.nn, kind + "Cell")(3, 2, bias=bias, dtype="float64")
            out = cell(leaf(2, 3))
            (sum(o.sum() for o in out) if isinstance(out, tuple) else out.sum()).backward()
    assert set(seen) >= {c for c in flagged if c.__module__.startswith("chainrule.ops")}


def test_an_op_written_as_docs_ops_md_describes_trains_and_checks():
    """docs/ops.md, "Writing an op": a user-defined op with forward, backward, label and
    formulas, called through apply with and without options, passes gradcheck."""
    from chainrule.autograd.function import Function

    class ScaledProduct(Function):
        label = "scaled ×"
        formulas = ("k·b", "k·a")

        def forward(self, a, b, k=2.0):
            self.a, self.b, self.k = a, b, k
            return k * a * b

        def backward(self, grad):
            return grad * self.k * self.b, grad * self.k * self.a

    a = cr.tensor([0.5, -1.5, 2.0], dtype="float64", requires_grad=True)
    b = cr.tensor([1.0, 0.25, -3.0], dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda x, y: ScaledProduct.apply(x, y, k=3.0), a, b)
    ScaledProduct.apply(a, b).sum().backward()
    assert np.allclose(a.grad_array, 2.0 * b.array) and np.allclose(b.grad_array, 2.0 * a.array)
