"""More autograd behaviours checked against PyTorch: kthvalue's index on ties, the shape forms of
empty(), a second backward() through ops that saved nothing, hooks under autograd.grad and
backward(inputs=...), grad_fn names, retain_grad / retains_grad, materialize_grads."""

import warnings

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


# ---- kthvalue: the index PyTorch's quickselect names among equal values ----------------------
@pytest.mark.parametrize("seed", range(6))
def test_kthvalue_index_on_ties_matches_torch(seed):
    rng = np.random.default_rng(seed)
    for _ in range(60):
        shape = tuple(int(n) for n in rng.integers(1, 9, rng.integers(1, 4)))
        x = rng.integers(0, int(rng.integers(1, 4)), shape).astype(np.float32)
        if rng.random() < 0.3:
            x[rng.random(shape) < 0.3] = np.nan
        dim = int(rng.integers(-len(shape), len(shape)))
        k = int(rng.integers(1, shape[dim] + 1))
        keepdim = bool(rng.random() < 0.5)
        want = torch.kthvalue(torch.tensor(x), k, dim, keepdim)
        got = cr.kthvalue(cr.tensor(x), k, dim, keepdim)
        assert np.array_equal(got.indices.numpy(), want.indices.numpy())
        assert np.array_equal(got.values.numpy(), want.values.numpy(), equal_nan=True)


def test_kthvalue_long_rows_with_ties_and_integers_match_torch():
    rng = np.random.default_rng(7)
    for n in (50, 257, 1000):
        for dtype in (np.float64, np.int64):
            x = rng.integers(0, 7, (3, n)).astype(dtype)
            k = int(rng.integers(1, n + 1))
            want = torch.kthvalue(torch.tensor(x), k).indices.numpy()
            assert np.array_equal(cr.kthvalue(cr.tensor(x), k).indices.numpy(), want)


# ---- empty / zeros / ones / randn: the forms of the shape ------------------------------------
@pytest.mark.parametrize("name", ["empty", "zeros", "ones", "randn", "rand"])
@pytest.mark.parametrize(
    "args, kwargs",
    [((2, 3), {}), (((2, 3),), {}), (([2, 3],), {}), ((), {"size": (2, 3)}), (((),), {})],
)
def test_creation_shape_forms_match_torch(name, args, kwargs):
    want = getattr(torch, name)(*args, **kwargs)
    got = getattr(cr, name)(*args, **kwargs)
    assert tuple(got.shape) == tuple(want.shape) and str(got.dtype) in str(want.dtype)


@pytest.mark.parametrize("name", ["empty", "zeros", "ones"])
def test_creation_without_a_shape_or_with_two_is_a_type_error(name):
    with pytest.raises(TypeError, match="size"):
        getattr(cr, name)()
    with pytest.raises(TypeError, match="multiple values for argument 'size'"):
        getattr(cr, name)(2, size=(3,))


def test_empty_dtype_and_requires_grad_match_torch():
    for lib in (torch, cr):
        t = lib.empty(2, 3, dtype=lib.float64, requires_grad=True)
        assert t.requires_grad and t.is_leaf and "float64" in str(t.dtype)
        like = lib.empty_like(lib.ones(2, 3, requires_grad=True))
        assert not like.requires_grad and tuple(like.shape) == (2, 3)


# ---- a second backward() without retain_graph -------------------------------------------------
SECOND_BACKWARD = {  # code making y from x and w; whether PyTorch allows a second pass
    "add": ("y = x + w", True),
    "add_constant": ("y = x + 1", True),
    "sub_neg": ("y = 1 - (-x)", True),
    "sum_mean": ("y = x.reshape(2, 2).sum(1) + x.mean()", True),
    "reshape_permute": ("y = x.reshape(2, 2).T.reshape(4)", True),
    "slice_cat_stack": ("y = L.stack([L.cat([x[1:], x[:1]]), x])", True),
    "expand_repeat_flip": ("y = x.reshape(1, 4).expand(2, 4).repeat(1, 2).flip(0)", True),
    "cast_clone": ("y = x.double().clone()", True),
    "cumsum_tril": ("y = x.cumsum(0).reshape(2, 2).tril()", True),
    "mul_constant": ("y = x * 2", False),
    "mul": ("y = x * w", False),
    "exp": ("y = x.exp()", False),
    "tanh_after_add": ("y = (x + w).tanh()", False),
    "index_tensor": ("y = x[L.tensor([0, 2])]", False),
    "max_dim": ("y = x.reshape(2, 2).max(1).values", False),
}


@pytest.mark.parametrize("case", sorted(SECOND_BACKWARD))
def test_second_backward_allowed_exactly_where_torch_allows_it(case):
    code, allowed = SECOND_BACKWARD[case]
    results = []
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        w = lib.tensor([0.5, 1.5, 2.5, 3.5], requires_grad=True)
        scope = {"L": lib, "x": x, "w": w}
        exec(code, scope)
        y = scope["y"]
        y.sum().backward()
        try:
            y.sum().backward()
            results.append(("ok", x.grad.tolist(), w.grad.tolist() if w.grad is not None else None))
        except RuntimeError as err:
            results.append(("raised", str(err).split(".")[0]))
    assert results[0] == results[1]
    assert (results[0][0] == "ok") == allowed


def test_second_backward_through_kept_ops_frees_the_activations():
    x = cr.tensor(np.ones(1000), requires_grad=True)
    h = x.exp()  # saves its output
    y = h.reshape(10, 100).sum()  # reshape and sum save nothing: they stay for a 2nd backward
    y.backward()
    reshape = y.grad_fn.parents[0]._ctx
    stand_in = reshape.parents[0]
    assert stand_in is not h and stand_in.array.strides == (0,)  # no memory of its own
    assert reshape.freed
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()  # reaches exp, which was freed


def test_second_backward_through_a_leaf_sum_accumulates_like_torch():
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        y = (x + x).sum()
        y.backward()
        y.backward()
        assert x.grad.tolist() == [4.0, 4.0]


# ---- hooks fire only on the way to the requested inputs ---------------------------------------
def _hooked_graph(lib):
    log = []
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    w = lib.tensor([3.0, 4.0], requires_grad=True)
    a, b = x * 2, w * 3
    for name, t in (("x", x), ("w", w), ("a", a), ("b", b)):
        t.register_hook(lambda g, name=name: log.append(name))
    loss = (a * b).sum()
    return log, x, w, a, b, loss


@pytest.mark.parametrize("which", [["x"], ["a"], ["w", "a"], ["x", "w"], ["b", "x"]])
@pytest.mark.parametrize("create_graph", [False, True])
def test_autograd_grad_runs_hooks_only_on_the_path_to_its_inputs(which, create_graph):
    seen, grads = [], []
    for lib in (torch, cr):
        log, x, w, a, b, loss = _hooked_graph(lib)
        named = {"x": x, "w": w, "a": a, "b": b}
        out = lib.autograd.grad(loss, [named[n] for n in which], create_graph=create_graph)
        seen.append(sorted(log))
        grads.append([g.tolist() for g in out])
    assert seen[0] == seen[1] and grads[0] == grads[1]


def test_backward_inputs_fills_only_those_grads_like_torch():
    results = []
    for lib in (torch, cr):
        log, x, w, a, b, loss = _hooked_graph(lib)
        a.retain_grad()
        loss.backward(inputs=[x], retain_graph=True)
        first = (sorted(log), x.grad.tolist(), w.grad, a.grad.tolist())
        loss.backward(inputs=(a,), retain_graph=True)
        results.append((first, a.grad.tolist(), x.grad.tolist()))
        with pytest.raises(RuntimeError, match="cannot be empty"):
            loss.backward(inputs=[])
    assert results[0] == results[1]


def test_a_hook_on_a_shared_tensor_runs_once_for_several_outputs_like_torch():
    calls = []
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        h = x * 1
        seen = []
        h.register_hook(lambda g, seen=seen: seen.append(g.tolist()))
        (g,) = lib.autograd.grad([h.sum(), (h * h).sum()], [x])
        calls.append((seen, g.tolist()))
    assert calls[0] == calls[1]


def test_materialize_grads_gives_zeros_for_unused_inputs():
    results = []
    for lib in (torch, cr):
        x = lib.tensor([1.0, 2.0], requires_grad=True)
        u = lib.tensor([1.0, 2.0, 3.0], requires_grad=True)
        grads = lib.autograd.grad((x * 2).sum(), [x, u], materialize_grads=True)
        results.append([g.tolist() for g in grads])
        with pytest.raises(ValueError, match="allow_unused"):
            lib.autograd.grad((x * 2).sum(), [x, u], allow_unused=False, materialize_grads=True)
    assert results[0] == results[1]


# ---- grad_fn names ------------------------------------------------------------------------------
GRAD_FN_CASES = [
    "x + w", "x - w", "x * w", "x / w", "-x", "x @ W", "x.mm(W)", "x[0] @ W[0]", "x @ W[0]",
    "F.linear(x, W.T, b)", "F.linear(x, W.T)", "x.sum()", "x.sum(0)", "x.mean()", "x.mean(1)",
    "x.relu()", "x.sigmoid()", "x.tanh()", "x.exp()", "x.abs().log()", "x ** 2", "x ** w",
    "x.view(6)", "x.reshape(3, 2)", "x.flatten()", "x.permute(1, 0)", "x[0]", "x[:, 1:]",
    "x[L.tensor([0, 1])]", "x[None]", "x[1:, 0]", "x.max()", "x.clamp(0, 1)", "L.cat([x, x])",
    "L.stack([x, x])", "F.softmax(x, 1)", "F.log_softmax(x, 1)", "F.mse_loss(x, w)",
    "F.cross_entropy(x, L.tensor([0, 1]))", "x.to(L.float64)", "F.gelu(x)", "F.silu(x)",
    "F.leaky_relu(x)", "F.elu(x)", "x.cumsum(0)", "x.amax(0)", "x.logsumexp(1)", "x.tril()",
    "x.triu()", "F.pad(x, (1, 1))", "x.log1p()", "x.norm()", "x.std()", "x.clone()",
]  # fmt: skip


@pytest.mark.parametrize("code", GRAD_FN_CASES)
def test_grad_fn_name_matches_torch(code):
    names = []
    for lib in (torch, cr):
        x = lib.tensor([[1.0, -2.0, 3.0], [0.5, 1.5, -0.5]], requires_grad=True)
        w = lib.tensor([[0.3, 0.2, 0.1], [0.4, 0.5, 0.6]], requires_grad=True)
        W = lib.ones(3, 3, requires_grad=True)
        b = lib.zeros(3, requires_grad=True)
        scope = {"L": lib, "F": lib.nn.functional, "x": x, "w": w, "W": W, "b": b}
        with np.errstate(all="ignore"):
            y = eval(code, scope)
        names.append(y.grad_fn.name())
        assert f"grad_fn=<{names[-1]}>" in repr(y)
    assert names[0] == names[1]


# ---- retain_grad, retains_grad, .grad of a non-leaf ---------------------------------------------
def test_retain_grad_and_retains_grad_match_torch():
    for lib in (torch, cr):
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        assert (y.retains_grad, x.retains_grad) == (False, False)
        assert y.retain_grad() is None  # as PyTorch's (it returned the tensor)
        assert y.retains_grad
        assert x.retain_grad() is None  # a leaf: nothing to do, no error
        with pytest.raises(
            RuntimeError, match="can't retain_grad on Tensor that has requires_grad"
        ):
            lib.ones(2).retain_grad()


def test_grad_of_a_non_leaf_warns_unless_retained_like_torch():
    for lib in (torch, cr):
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        with pytest.warns(UserWarning, match="not a leaf Tensor"):
            assert y.grad is None
        y.retain_grad()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert y.grad is None
            assert x.grad is None
