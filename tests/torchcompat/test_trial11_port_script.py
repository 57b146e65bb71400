"""A PyTorch training script ported to chainrule: the corners it met that gave another answer
than PyTorch, or an unclear error (values, shapes and gradients against PyTorch)."""

import re

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("sizes", [[5, -1], [-1, 5], [6, -2, 0]])
def test_split_refuses_negative_sizes_as_torch(sizes):
    # They add up to the length, and slicing from the end had made pieces of other sizes.
    with pytest.raises(RuntimeError):
        torch.ones(4).split(sizes)
    with pytest.raises(RuntimeError, match="non-negative"):
        cr.ones(4).split(sizes)
    with pytest.raises(RuntimeError, match="non-negative"):
        cr.split(cr.ones(4), sizes)


def test_split_with_a_zero_size_still_matches_torch():
    pieces = cr.arange(4).split([0, 3, 1])
    expected = torch.arange(4).split([0, 3, 1])
    assert [p.tolist() for p in pieces] == [e.tolist() for e in expected]


EINSUMS = [
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 5)]),
    ("...ij,...jk", [(5, 1, 3, 4), (2, 4, 5)]),
    ("...ij->ij", [(2, 3, 4)]),
    ("ij...", [(2, 3, 4)]),
    ("i...->...i", [(2, 3, 4)]),
    ("...->", [(2, 3)]),
    ("a...b,b...->...a", [(2, 3, 4), (4, 3)]),
    ("... i j, ... j k -> ... i k", [(2, 3, 4), (2, 4, 2)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("bii->bi", [(2, 3, 3)]),
    ("iji->j", [(3, 2, 3)]),
    ("iijj->ij", [(2, 2, 3, 3)]),
    ("ij,ii->j", [(3, 2), (3, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_ellipsis_and_diagonals_match_torch(equation, shapes):
    # Attention code writes '...qd,...kd->...qk'; both had raised "not supported yet".
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    ours = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out_c, out_t = cr.einsum(equation, *ours), torch.einsum(equation, *theirs)
    assert out_c.shape == tuple(out_t.shape)
    assert out_c.grad_fn.name() == out_t.grad_fn.name()
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-12)
    w = rng.standard_normal(out_c.shape)
    (out_c * cr.tensor(w, dtype="float64")).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    for c, t in zip(ours, theirs):
        np.testing.assert_allclose(c.grad.numpy(), t.grad.numpy(), rtol=1e-12)
    leaves = [cr.tensor(a, dtype="float64", requires_grad=True) for a in arrays]
    assert cr.gradcheck(lambda *t: cr.einsum(equation, *t) ** 2, *leaves)


@pytest.mark.parametrize(
    "equation, shapes, words",
    [
        ("b...,b...->b", [(2, 3), (2, 3, 4)], "a dimension under '...' has sizes 3 and 4"),
        ("ijk...->...", [(2, 3)], "names more dimensions than operand 0 has"),
        ("......", [(2,)], "a '.' that is not one '...'"),
        ("ii", [(2, 3)], "over sizes 2 and 3"),
    ],
)
def test_einsum_bad_ellipsis_or_diagonal_raises_as_torch(equation, shapes, words):
    with pytest.raises(RuntimeError):
        torch.einsum(equation, *[torch.ones(s) for s in shapes])
    with pytest.raises((ValueError, RuntimeError), match=re.escape(words)):
        cr.einsum(equation, *[cr.ones(*s) for s in shapes])


@pytest.mark.parametrize(
    "index, value_shape",
    [
        (0, (2, 5)),
        (0, (3,)),
        ((slice(None), slice(0, 2)), (4, 3)),
        ([0, 1], (3, 5)),
        ("mask", (3,)),
    ],
)
def test_index_assignment_of_a_wrong_shape_is_a_runtime_error_as_torch(index, value_shape):
    # NumPy's plain ValueError slipped past a PyTorch script's `except RuntimeError`.
    ours, theirs = cr.arange(20.0).reshape(4, 5), torch.arange(20.0).reshape(4, 5)
    index_c, index_t = (ours > 15, theirs > 15) if index == "mask" else (index, index)
    with pytest.raises(RuntimeError):
        theirs[index_t] = torch.ones(value_shape)
    with pytest.raises(RuntimeError, match="index assignment: .*must broadcast"):
        ours[index_c] = cr.ones(*value_shape)
    assert ours.tolist() == torch.arange(20.0).reshape(4, 5).tolist()  # nothing was written


HALF_REDUCTIONS = {  # each overflowed float16 on the way (Σx² of 3000 tens is 3e5): inf here
    "norm": lambda L, x, t: x.norm(),
    "norm(dim)": lambda L, x, t: x.norm(dim=0),
    "norm(p=3)": lambda L, x, t: x.norm(p=3),
    "norm(p=1)": lambda L, x, t: x.norm(p=1),
    "vector_norm": lambda L, x, t: L.linalg.vector_norm(x),
    "normalize": lambda L, x, t: L.nn.functional.normalize(x, dim=0),
    "pairwise_distance": lambda L, x, t: L.nn.functional.pairwise_distance(x.T, t.T),
    "mse_loss": lambda L, x, t: L.nn.functional.mse_loss(x, t),
    "l1_loss": lambda L, x, t: L.nn.functional.l1_loss(x, t),
    "smooth_l1_loss": lambda L, x, t: L.nn.functional.smooth_l1_loss(x, t),
    "huber_loss": lambda L, x, t: L.nn.functional.huber_loss(x, t, delta=2.0),
    "bce_with_logits": lambda L, x, t: L.nn.functional.binary_cross_entropy_with_logits(
        -x * 3, t / 40
    ),
    "sum(dim)": lambda L, x, t: (x / 9).sum(0),  # precision: float16 partial sums drifted
}


@pytest.mark.parametrize("name", HALF_REDUCTIONS)
def test_float16_reductions_accumulate_in_float32_as_torch(name):
    values = np.random.default_rng(0).uniform(9.0, 11.0, (3000, 2)).astype(np.float16)
    results = []
    for lib in (cr, torch):
        x = lib.tensor(values, dtype=lib.float16, requires_grad=True)
        t = lib.tensor(values * np.float16(-3), dtype=lib.float16)
        out = HALF_REDUCTIONS[name](lib, x, t)
        (out.float() * 0.5).sum().backward()
        results.append((np.asarray(out.detach().numpy()), np.asarray(x.grad.numpy())))
    (ours, our_grad), (theirs, their_grad) = results
    assert ours.dtype == theirs.dtype == np.float16
    assert np.isfinite(theirs).all() and np.isfinite(ours).all()
    np.testing.assert_allclose(ours.astype(float), theirs.astype(float), rtol=1e-3)
    # the gradients are float16 arithmetic in both, in other orders (normalize's cancels)
    assert np.isfinite(our_grad).all()
    np.testing.assert_allclose(our_grad.astype(float), their_grad.astype(float), 5e-3, 3e-4)


def test_float16_cross_entropy_still_overflows_as_torchs_nll_loss():
    # PyTorch's nll_loss kernel sums float16 in float16: a mean over 3000 rows of 30 is inf
    logits = np.zeros((3000, 4), dtype=np.float16)
    logits[:, 1:] = 30
    ours = cr.nn.functional.cross_entropy(
        cr.tensor(logits, dtype=cr.float16), cr.zeros(3000, dtype=cr.int64)
    )
    theirs = torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.zeros(3000, dtype=torch.int64)
    )
    assert np.isinf(theirs.item()) and np.isinf(ours.item())


VARIANCES = {
    "std": lambda x: x.std(),
    "var(dim)": lambda x: x.var(dim=0),
    "std(dim, correction=0)": lambda x: x.std(0, correction=0),
    "std_mean": lambda x: cr.std_mean(x, 0) if isinstance(x, cr.Tensor) else torch.std_mean(x, 0),
}


@pytest.mark.parametrize("name", ["std", "var(dim)", "std(dim, correction=0)", "std_mean"])
def test_float16_variance_of_pixel_values_is_finite_as_torch(name):
    # Squared deviations of 0..255 pixels pass float16's 65504: the std of an image was inf.
    pixels = np.random.default_rng(0).integers(0, 256, (2000, 3)).astype(np.float16)
    ours = cr.tensor(pixels, dtype=cr.float16, requires_grad=True)
    theirs = torch.tensor(pixels)
    exact = cr.tensor(pixels, dtype=cr.float64, requires_grad=True)
    out, out_t, out_64 = (VARIANCES[name](x) for x in (ours, theirs, exact))
    for a, b in zip(*(o if isinstance(o, tuple) else (o,) for o in (out, out_t))):
        assert a.dtype == cr.float16 and np.isfinite(b.numpy()).all()
        np.testing.assert_allclose(a.detach().numpy(), b.numpy(), rtol=1e-3)
    first, first_64 = (o[0] if isinstance(o, tuple) else o for o in (out, out_64))
    first.float().sum().backward()
    first_64.sum().backward()  # the gradient is float32 arithmetic rounded once: near exact
    np.testing.assert_allclose(ours.grad.numpy(), exact.grad.numpy(), rtol=2e-3, atol=1e-6)


INDEX_PUTS = [  # (the index tensors, the values' shape) for a (4, 3, 2) tensor
    (lambda L: (L.tensor([0, 2]),), (2, 3, 2)),
    (lambda L: (L.tensor([0, 2, 0]),), (3, 2)),
    (lambda L: (L.tensor([0, -1]), L.tensor([1, 2])), (2, 2)),
    (lambda L: (L.tensor([[0], [3]]), L.tensor([0, 1, 2])), (2, 3, 2)),
    (lambda L: (L.tensor([0, 1]), L.tensor([2, 2]), L.tensor([1, 0])), ()),
    (lambda L: (L.tensor([True, False, True, True]),), (2,)),
    (lambda L: (L.tensor([1, 1, 1]), L.tensor([0, 0, 0])), (3, 2)),  # repeats: accumulate
]


@pytest.mark.parametrize("case", range(len(INDEX_PUTS)))
@pytest.mark.parametrize("accumulate", [True, False])
def test_index_put_matches_torch(case, accumulate):
    # It had raised NotSupportedError (x.index_put_((rows, cols), v, accumulate=True)).
    indices, shape = INDEX_PUTS[case]
    if case == 6 and not accumulate:
        return  # a position written twice: PyTorch leaves the order unspecified
    rng = np.random.default_rng(case)
    x, v = rng.standard_normal((4, 3, 2)), rng.standard_normal(shape)
    w = rng.standard_normal((4, 3, 2))
    results = []
    for lib in (cr, torch):
        xt = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        vt = lib.tensor(v, dtype=lib.float64, requires_grad=True)
        out = lib.index_put(xt, indices(lib), vt, accumulate=accumulate)
        (out * lib.tensor(w, dtype=lib.float64)).sum().backward()
        inplace = lib.tensor(x, dtype=lib.float64)
        returned = inplace.index_put_(indices(lib), vt.detach(), accumulate)
        assert returned is inplace
        results.append([a.detach().numpy() for a in (out, xt.grad, vt.grad, inplace)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-15)


def test_index_put_refuses_bad_input_as_torch():
    x = cr.zeros(3, 2)
    for call, error, words in [
        (lambda: x.index_put_((cr.tensor([0.0]),), cr.tensor(1.0)), IndexError, "long, int"),
        (lambda: x.index_put_((cr.tensor([3]),), cr.tensor(1.0)), IndexError, "out of bounds"),
        (lambda: x.index_put_((cr.tensor([1]),), cr.ones(2).double()), RuntimeError, "dtypes"),
        (lambda: x.index_put_((cr.tensor([1, 2]),), cr.ones(3)), RuntimeError, "shape mismatch"),
        (lambda: x.index_put_(cr.tensor([1]), cr.tensor(1.0)), TypeError, "tuple of index"),
    ]:
        with pytest.raises(error, match=words):
            call()
    with pytest.raises(RuntimeError, match="leaf"):
        cr.zeros(3, requires_grad=True).index_put_((cr.tensor([1]),), cr.tensor(1.0))


@pytest.mark.parametrize(
    "name", ["absolute", "negative", "fix", "arccos", "arcsin", "arctan", "arctan2", "reshape_as"]
)
def test_numpy_style_aliases_match_torch(name):
    # They had raised NotSupportedError, though the ops they name were there.
    x = np.array([[-0.7, 0.2, 0.9], [0.5, -0.1, 0.3]])
    results = []
    for lib in (cr, torch):
        t = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        other = lib.tensor(x[::-1].copy(), dtype=lib.float64).reshape(3, 2)
        args = (other.reshape(2, 3),) if name == "arctan2" else (other,) if "as" in name else ()
        method = getattr(t, name)(*args)
        if name != "reshape_as":
            function = getattr(lib, name)(t, *args)
            np.testing.assert_array_equal(function.detach().numpy(), method.detach().numpy())
        method.sum().backward()
        results.append((method.detach().numpy(), t.grad.numpy(), method.grad_fn.name()))
    (ours, our_grad, our_name), (theirs, their_grad, their_name) = results
    assert ours.shape == theirs.shape and our_name == their_name
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
    np.testing.assert_allclose(our_grad, their_grad, rtol=1e-12)


def _counted(lib):
    class Counter(lib.nn.Module):  # a module with state beyond tensors (a step count)
        def __init__(self):
            super().__init__()
            self.lin, self.count = lib.nn.Linear(2, 2), 0

        def get_extra_state(self):
            return {"count": self.count}

        def set_extra_state(self, state):
            self.count = state["count"]

    outer = lib.nn.Sequential(Counter(), lib.nn.ReLU(), Counter())
    outer[0].count, outer[2].count = 5, 7
    return outer, Counter


def test_get_extra_state_is_saved_and_loaded_as_torch():
    # state_dict() had left it out silently, so a checkpoint lost it.
    keys = []
    for lib in (cr, torch):
        model, counter = _counted(lib)
        state = model.state_dict()
        keys.append(list(state))
        fresh = lib.nn.Sequential(counter(), lib.nn.ReLU(), counter())
        assert str(fresh.load_state_dict(state)) == "<All keys matched successfully>"
        assert (fresh[0].count, fresh[2].count) == (5, 7)
        del state["2._extra_state"]
        result = fresh.load_state_dict(state, strict=False)
        assert list(result.missing_keys) == ["2._extra_state"]
        with pytest.raises(RuntimeError, match="2._extra_state"):
            fresh.load_state_dict(state)
    assert keys[0] == keys[1]
    assert "0._extra_state" in keys[0]
    linear = cr.nn.Linear(1, 1)
    state = {**linear.state_dict(), "_extra_state": 1}
    assert linear.load_state_dict(state, strict=False).unexpected_keys == ["_extra_state"]


def _returning(lib, shape):
    class Double(lib.autograd.Function):
        @staticmethod
        def forward(ctx, scale, x):
            return x * scale

        @staticmethod
        def backward(ctx, grad):
            return None, lib.ones(shape)

    return Double


@pytest.mark.parametrize("returned", [(), (3,), (3, 1)])
def test_custom_function_gradient_of_a_wrong_shape_is_named(returned):
    # A 0-d gradient for a vector (a forgotten .expand) had failed inside the engine with
    # NumPy's "cannot reshape array of size 1 into shape (2,)".
    with pytest.raises(RuntimeError, match="invalid gradient"):
        _returning(torch, returned).apply(2.0, torch.ones(2, requires_grad=True)).sum().backward()
    message = f"Double.backward returned a gradient of shape {returned} for argument 1"
    with pytest.raises(RuntimeError, match=re.escape(message)):
        _returning(cr, returned).apply(2.0, cr.ones(2, requires_grad=True)).sum().backward()


def test_custom_function_gradient_that_the_input_broadcasts_to_is_summed_as_torch():
    grads = []
    for lib in (cr, torch):
        x = lib.ones(2, requires_grad=True)
        _returning(lib, (3, 2)).apply(2.0, x).sum().backward()  # (2,) broadcasts to (3, 2)
        grads.append(x.grad.tolist())
    assert grads[0] == grads[1] == [3.0, 3.0]


@pytest.mark.parametrize(
    "shape, index, value_shape",
    [((3,), 0, (1,)), ((3,), 0, (1, 1)), ((3, 5), (1, 2), (1, 1, 1)), ((3, 1, 2), 0, (1, 2))],
)
def test_index_assignment_drops_the_values_leading_ones_as_torch(shape, index, value_shape):
    # losses[i] = loss where loss has shape (1,): NumPy refused a sequence into one element.
    results = []
    for lib in (cr, torch):
        x = lib.zeros(shape)
        x[index] = lib.full(value_shape, 7.0)
        results.append(x.tolist())
    assert results[0] == results[1]
    with pytest.raises(RuntimeError, match="index assignment"):
        cr.zeros(3)[0] = cr.ones(2)


HALF_NORMS = {
    "layer_norm": lambda L, x, w: L.nn.functional.layer_norm(x, (64,), w, w),
    "layer_norm no weight": lambda L, x, w: L.nn.functional.layer_norm(x, (64,)),
    "group_norm": lambda L, x, w: L.nn.functional.group_norm(x.reshape(4, 4, 16), 2),
    "rms_norm": lambda L, x, w: L.nn.functional.rms_norm(x, (64,), w),
    "rms_norm eps=None, small x": lambda L, x, w: L.nn.functional.rms_norm(x * 1e-4, (64,)),
}


@pytest.mark.parametrize("name", HALF_NORMS)
def test_float16_normalisation_runs_in_float32_as_torch(name):
    # Values of a few hundred overflowed float16's squared deviations: the output was garbage.
    rng = np.random.default_rng(0)
    x, w = (rng.standard_normal((4, 64)) * 300).astype(np.float16), rng.standard_normal(64)
    results = []
    for lib in (cr, torch):
        xt = lib.tensor(x, dtype=lib.float16, requires_grad=True)
        out = HALF_NORMS[name](lib, xt, lib.tensor(w, dtype=lib.float16))
        out.float().pow(2).sum().backward()
        results.append((out.detach().numpy(), xt.grad.numpy()))
    (ours, our_grad), (theirs, their_grad) = results
    assert ours.dtype == np.float16 and np.isfinite(ours).all()
    np.testing.assert_allclose(ours.astype(float), theirs.astype(float), rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(our_grad.astype(float), their_grad.astype(float), 5e-3, 1e-4)


def test_a_float16_parameter_stays_float16_and_shares_memory_as_torch():
    # It had become a float32 copy: the dtype differed and F.linear with float16 input refused.
    for lib in (cr, torch):
        data = lib.ones(2, 3, dtype=lib.float16)
        weight = lib.nn.Parameter(data)
        data[0, 0] = 5.0
        assert weight.dtype == lib.float16 and weight[0, 0].item() == 5.0
        out = lib.nn.functional.linear(lib.ones(1, 3, dtype=lib.float16), weight)
        assert out.dtype == lib.float16 and out.tolist() == [[7.0, 3.0]]
        out.sum().backward()
        assert weight.grad.dtype == lib.float16


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0])
def test_clip_grad_norm_of_float16_gradients_as_torch(norm_type):
    # Their float16 sum of squares overflowed: the norm was inf and every gradient became 0.
    results = []
    for lib in (cr, torch):
        params = [
            lib.nn.Parameter(lib.ones(3000, dtype=lib.float16)),
            lib.nn.Parameter(lib.ones(2)),
        ]
        params[0].grad = lib.full((3000,), 10.0, dtype=lib.float16)
        params[1].grad = lib.full((2,), 3.0)
        norm = lib.nn.utils.clip_grad_norm_(params, 1.0, norm_type=norm_type)
        results.append((float(norm), params[0].grad.float().numpy(), params[1].grad.numpy()))
    (norm, *grads), (their_norm, *their_grads) = results
    assert np.isfinite(norm)
    np.testing.assert_allclose(norm, their_norm, rtol=1e-3)
    for ours, theirs in zip(grads, their_grads):
        np.testing.assert_allclose(ours, theirs, rtol=1e-3)


@pytest.mark.parametrize("running", [False, True])
@pytest.mark.parametrize("name", ["batch_norm", "instance_norm"])
def test_float16_batch_and_instance_norm_standardise_in_float32(name, running):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((8, 4, 16)) * 300).astype(np.float16)
    w = rng.standard_normal((8, 4, 16)).astype(np.float32)
    results = []
    for lib in (cr, torch):
        xt = lib.tensor(x, dtype=lib.float16, requires_grad=True)
        stats = (lib.zeros(4, dtype=lib.float16), lib.ones(4, dtype=lib.float16))
        fn = getattr(lib.nn.functional, name)
        args = stats if running else (None, None)
        out = fn(xt, *args, training=True) if name == "batch_norm" else fn(xt, *args)
        (out.float() * lib.tensor(w)).sum().backward()
        results.append([a.detach().float().numpy() for a in (out, xt.grad, *stats)])
    # float16 rounds the two ways differently (chainrule's is nearer float64's answer)
    for ours, theirs, atol in zip(*results, (4e-3, 3e-5, 1.0, 8.0)):
        assert np.isfinite(ours).all()
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)
