"""Parity probe, round 4: lerp, smooth_l1_loss, diag and trace as one op each with PyTorch's
grad_fn names, values and gradients (float32 against PyTorch, float64 against finite
differences, second derivatives through gradgradcheck); ``cr.trace`` of a matrix; var_mean's and
std_mean's gradients."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair(array, requires_grad=True):
    array = np.asarray(array)
    return cr.from_numpy(array).requires_grad_(requires_grad), torch.tensor(
        array, requires_grad=requires_grad
    )


def _check(fn_cr, fn_torch, *arrays, name=None):
    """Values, gradients of every input and the grad_fn name, ours against PyTorch's."""
    ours, theirs = zip(*[_pair(a) for a in arrays])
    out_cr, out_torch = fn_cr(*ours), fn_torch(*theirs)
    assert out_cr.grad_fn.name() == out_torch.grad_fn.name() == (name or out_torch.grad_fn.name())
    assert tuple(out_cr.shape) == tuple(out_torch.shape)
    np.testing.assert_allclose(out_cr.detach().numpy(), out_torch.detach().numpy(), rtol=1e-6)
    weights = np.random.default_rng(1).standard_normal(tuple(out_torch.shape)).astype(np.float32)
    (out_cr * cr.tensor(weights)).sum().backward()
    (out_torch * torch.tensor(weights)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-5, atol=1e-6)


RNG = np.random.default_rng(0)
A, B = (
    RNG.standard_normal((3, 4)).astype(np.float32),
    RNG.standard_normal((3, 4)).astype(np.float32),
)
W = RNG.uniform(-0.5, 1.5, (3, 4)).astype(np.float32)


@pytest.mark.parametrize("weight", [0.25, 0.75, 1.0, -0.3])
def test_lerp_number_weight_is_one_op_as_torch(weight):
    _check(
        lambda a, b: cr.lerp(a, b, weight),
        lambda a, b: torch.lerp(a, b, weight),
        A,
        B,
        name="LerpBackward0",
    )


def test_lerp_tensor_weight_is_one_op_as_torch_with_broadcasting():
    _check(cr.lerp, torch.lerp, A, B, W, name="LerpBackward1")
    _check(cr.lerp, torch.lerp, A[:1], B[:, :1], W, name="LerpBackward1")
    _check(lambda a, b, w: a.lerp(b, w), lambda a, b, w: a.lerp(b, w), A, B, W[0, 0])


def test_lerp_float64_gradients_against_finite_differences():
    start, end, w = (cr.tensor(a, dtype=cr.float64, requires_grad=True) for a in (A, B, W))
    assert cr.gradcheck(cr.lerp, start, end, w)
    assert cr.gradgradcheck(cr.lerp, start, end, w)
    assert cr.gradcheck(lambda s, e: cr.lerp(s, e, 0.7), start, end)
    assert cr.gradgradcheck(lambda s, e: cr.lerp(s, e, 0.2), start, end)


def test_lerp_keeps_torch_errors_and_takes_a_0d_weight_of_another_dtype():
    with pytest.raises(cr.errors.DTypeError, match="one dtype"):
        cr.lerp(cr.tensor(A), cr.tensor(B, dtype=cr.float64), 0.5)
    got = cr.lerp(cr.tensor(A), cr.tensor(B), cr.tensor(0.3, dtype=cr.float64))
    want = torch.lerp(torch.tensor(A), torch.tensor(B), torch.tensor(0.3, dtype=torch.float64))
    assert got.dtype == cr.float32
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
    with pytest.raises(cr.errors.ShapeError, match="broadcast"):
        cr.lerp(cr.tensor(A), cr.tensor(B[:, :2]), 0.5)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("beta", [1.0, 0.5, 3.0])
def test_smooth_l1_loss_is_one_op_as_torch(reduction, beta):
    def ours(x, t):
        return cr.nn.functional.smooth_l1_loss(x, t, reduction=reduction, beta=beta)

    def theirs(x, t):
        return torch.nn.functional.smooth_l1_loss(x, t, reduction=reduction, beta=beta)

    _check(ours, theirs, A * 2, B, name="SmoothL1LossBackward0")
    module = cr.nn.SmoothL1Loss(reduction=reduction, beta=beta)
    assert module(cr.tensor(A, requires_grad=True), cr.tensor(B)).grad_fn.name() == (
        "SmoothL1LossBackward0"
    )


def test_smooth_l1_loss_float64_gradients_and_second_derivatives():
    x = cr.tensor(A * 2, dtype=cr.float64, requires_grad=True)
    t = cr.tensor(B, dtype=cr.float64, requires_grad=True)
    for reduction in ("mean", "sum", "none"):
        fn = lambda a, b, r=reduction: cr.nn.functional.smooth_l1_loss(a, b, reduction=r, beta=0.7)  # noqa: E731
        assert cr.gradcheck(fn, x, t)
        assert cr.gradgradcheck(fn, x, t)


def test_diag_of_a_matrix_and_trace_are_pytorchs_ops():
    square = RNG.standard_normal((4, 4)).astype(np.float32)
    _check(cr.diag, torch.diag, square, name="DiagonalBackward0_copy")
    _check(lambda m: cr.diag(m, 1), lambda m: torch.diag(m, 1), A)
    _check(lambda m: m.trace(), lambda m: m.trace(), A, name="TraceBackward0")
    _check(cr.trace, torch.trace, square, name="TraceBackward0")
    m = cr.tensor(square, dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(cr.trace, m) and cr.gradgradcheck(lambda x: cr.trace(x * x), m)
    assert cr.gradgradcheck(lambda x: cr.diag(x * x, -1), m)


def test_cr_trace_is_torch_trace_for_a_matrix_and_the_explainer_otherwise():
    a = cr.tensor(2.0, requires_grad=True)
    assert type(cr.trace((a * a).sum())).__name__ == "Report"
    assert cr.trace(cr.tensor([[1.0, 2.0], [3.0, 4.0]])).item() == 5.0
    with pytest.raises(cr.errors.ShapeError, match="expected a matrix"):
        cr.tensor([1.0, 2.0]).trace()


@pytest.mark.parametrize("fn", ["var_mean", "std_mean"])
@pytest.mark.parametrize("dim", [None, 0, (0, 1)])
def test_var_mean_and_std_mean_gradients_of_both_outputs(fn, dim):
    x = RNG.standard_normal((3, 4, 2)).astype(np.float64)
    ours, theirs = _pair(x)
    spread_cr, mean_cr = getattr(cr, fn)(ours, dim)
    spread_t, mean_t = getattr(torch, fn)(theirs, dim)
    assert spread_cr.grad_fn.name() == spread_t.grad_fn.name()
    assert mean_cr.grad_fn.name() == mean_t.grad_fn.name()
    (spread_cr * 3 + mean_cr * mean_cr).sum().backward()
    (spread_t * 3 + mean_t * mean_t).sum().backward()
    np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-10)
    leaf = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    assert cr.gradcheck(lambda t: getattr(cr, fn)(t, dim)[0] * 2 + getattr(cr, fn)(t, dim)[1], leaf)


EINSUMS = [
    ("ij->ji", [(3, 4)]),
    ("ijk->ki", [(2, 3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,ij->ji", [(3, 4), (3, 4)]),
    ("i,j", [(3,), (4,)]),
    ("bhqd,bhkd->bhqk", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("ij,k->k", [(3, 4), (5,)]),
    ("i,i,i->i", [(3,), (3,), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
]


@pytest.mark.parametrize("equation, shapes", EINSUMS, ids=[e for e, _ in EINSUMS])
def test_einsum_grad_fn_name_is_pytorchs_last_op(equation, shapes):
    arrays = [RNG.standard_normal(s).astype(np.float32) for s in shapes]
    _check(lambda *t: cr.einsum(equation, *t), lambda *t: torch.einsum(equation, *t), *arrays)


CALL_NAMED = {  # ops whose name PyTorch picks by how they were called, and which save tensors
    "l1_loss sum": lambda L, F, a: F.l1_loss(a, a.detach() * 0, reduction="sum"),
    "mv": lambda L, F, a: L.matmul(a, a[0].detach()),
    "batched matmul": lambda L, F, a: L.matmul(a[None], a.detach().T[None]),
    "linear of a vector": lambda L, F, a: F.linear(a[0], a),
    "prod(dim)": lambda L, F, a: a.prod(1),
    "kl_div sum": lambda L, F, a: F.kl_div(a, a.detach().softmax(1), reduction="sum"),
    "einsum": lambda L, F, a: L.einsum("ij,jk->ki", a, a),
}


@pytest.mark.parametrize("make", CALL_NAMED.values(), ids=CALL_NAMED.keys())
def test_grad_fn_name_outlives_backward_as_pytorchs(make):
    """backward() frees an op's saved values; its name (and the tensor's repr) stays."""
    names = []
    for lib, functional in ((cr, cr.nn.functional), (torch, torch.nn.functional)):
        a = lib.tensor(RNG.random((3, 3)).astype(np.float32), requires_grad=True)
        out = make(lib, functional, a)
        before = out.grad_fn.name()
        out.sum().backward()
        names.append((before, out.grad_fn.name()))
    assert names[0] == names[1]


def test_load_state_dict_mismatches_are_runtime_errors_as_pytorchs():
    """A PyTorch script's ``except RuntimeError:`` around load_state_dict catches ours too."""
    model = cr.nn.Linear(2, 3)
    with pytest.raises(RuntimeError, match="unexpected keys"):
        model.load_state_dict({"weight": cr.zeros(3, 2), "bias": cr.zeros(3), "extra": cr.zeros(1)})
    with pytest.raises(RuntimeError, match="shape"):
        model.load_state_dict({"weight": cr.zeros(3, 3), "bias": cr.zeros(3)})
    with pytest.raises(cr.errors.ShapeError):  # the classes chainrule code caught before
        model.load_state_dict({"weight": cr.zeros(3, 3), "bias": cr.zeros(3)})
    with pytest.raises(cr.errors.ModelFormatError):
        model.load_state_dict({"weight": cr.zeros(3, 2)})
    with pytest.raises(RuntimeError):
        torch.nn.Linear(2, 3).load_state_dict({"weight": torch.zeros(3, 2)})


def _described(batch):
    """A batch as plain values: the container kinds, dtypes, shapes and numbers."""
    if hasattr(batch, "tolist") and hasattr(batch, "shape"):
        return (str(batch.dtype).replace("torch.", ""), tuple(batch.shape), batch.tolist())
    if isinstance(batch, (list, tuple)):
        return type(batch).__name__, [_described(x) for x in batch]
    if isinstance(batch, dict):
        return {k: _described(v) for k, v in batch.items()}
    return type(batch).__name__, batch


def _loader_behaviour(lib):
    data = lib.utils.data
    rows = np.arange(10, dtype=np.float64).reshape(5, 2)

    class Pairs(data.Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return rows[i], int(i % 2), float(i) / 2

    class Named(data.Dataset):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return {"x": lib.tensor([i, i + 1.0]), "name": f"s{i}"}

    zipped = list(zip(rows.astype(np.float32), [0, 1, 0, 1, 1]))
    ds = data.TensorDataset(lib.arange(6), lib.arange(6) * 10)
    concat = data.ConcatDataset([ds, ds])
    return {
        "pairs": [_described(b) for b in data.DataLoader(Pairs(), batch_size=2)],
        "names": [_described(b) for b in data.DataLoader(Named(), batch_size=2)],
        "no batching": _described(next(iter(data.DataLoader(Pairs(), batch_size=None)))),
        "list of ints": [_described(b) for b in data.DataLoader([1, 2, 3], batch_size=2)],
        "zip list": [_described(b) for b in data.DataLoader(zipped, batch_size=4)],
        "concat": (len(concat), _described(concat[7]), _described(concat[-1])),
        "plus": len(ds + ds),
    }


def test_data_loader_reads_lists_strings_and_unbatched_samples_as_pytorch():
    """DataLoader(list(zip(X, y))) was read as columns (TensorDataset(*list)), string fields
    became a NumPy '<U' array in a tensor, batch_size=None handed back raw NumPy arrays, and
    ConcatDataset was missing."""
    ours, theirs = _loader_behaviour(cr), _loader_behaviour(torch)
    for key in theirs:
        assert ours[key] == theirs[key], key


ERRORS = {  # a PyTorch script's except clause around each of these must catch ours too
    "index past the end": (lambda L: L.arange(6.0).reshape(2, 3)[5], IndexError),
    "cat shapes": (lambda L: L.cat([L.zeros(2, 3), L.zeros(2, 2)]), RuntimeError),
    "matmul shapes": (lambda L: L.zeros(2, 3) @ L.zeros(2, 3), RuntimeError),
    "view of a transpose": (lambda L: L.zeros(2, 3).t().view(-1), RuntimeError),
    "bool of many": (lambda L: bool(L.zeros(2)), RuntimeError),
    "item of many": (lambda L: L.zeros(2).item(), RuntimeError),
    "int requires grad": (lambda L: L.tensor([1], requires_grad=True), RuntimeError),
    "linear of float64": (
        lambda L: L.nn.Linear(2, 1)(L.zeros(1, 2, dtype=L.float64)),
        RuntimeError,
    ),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_the_class_pytorch_raises(name):
    make, kind = ERRORS[name]
    with pytest.raises(kind):
        make(torch)
    with pytest.raises(kind):
        make(cr)


@pytest.mark.parametrize(
    "make",
    [
        lambda L: L.tensor([True, False]),
        lambda L: L.zeros(2, 0),
        lambda L: L.zeros(0, 3, dtype=L.float64),
        lambda L: L.tensor([1], dtype=L.int32),
        lambda L: L.tensor([1.5]),
    ],
)
def test_repr_names_the_dtype_and_empty_size_where_pytorch_does(make):
    ours, theirs = repr(make(cr)), repr(make(torch)).replace("torch.", "")
    assert ("dtype=" in ours) == ("dtype=" in theirs)
    assert ("size=" in ours) == ("size=" in theirs)


def test_backward_takes_pytorchs_gradient_keyword():
    """The autograd tutorial's ``Q.backward(gradient=external_grad)``."""
    for lib in (cr, torch):
        a = lib.tensor([2.0, 3.0], requires_grad=True)
        (3 * a**3).backward(gradient=lib.tensor([1.0, 0.5]))
        assert a.grad.tolist() == [36.0, 40.5]


def _walk(fn, depth=2):
    """grad_fn names down ``depth`` levels of next_functions."""
    if fn is None:
        return None
    below = [_walk(f, depth - 1) for f, _ in fn.next_functions] if depth else []
    return (fn.name(), below)


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(4, 3), (3,), (2, 4, 3)])
@pytest.mark.parametrize("input_grad", [True, False])
def test_linear_next_functions_are_pytorchs_addmm_graph(bias, shape, input_grad):
    """The "Neural Networks" tutorial walks loss.grad_fn.next_functions[0][0]...: PyTorch's
    addmm takes (bias, input, weight.t()), the weight behind TBackward0."""
    x = RNG.standard_normal(shape).astype(np.float32)
    graphs = []
    for lib in (cr, torch):
        layer = lib.nn.Linear(3, 2, bias=bias)
        inp = lib.tensor(x, requires_grad=input_grad)
        out = layer(inp * 1 if input_grad else inp)
        graphs.append(_walk(lib.nn.functional.mse_loss(out, out.detach() + 1).grad_fn, 4))
    assert graphs[0] == graphs[1]


INPLACE = {
    "nn.ReLU": lambda L, t: L.nn.ReLU(inplace=True)(t),
    "F.relu": lambda L, t: L.nn.functional.relu(t, inplace=True),
    "F.leaky_relu": lambda L, t: L.nn.functional.leaky_relu(t, 0.1, inplace=True),
    "nn.LeakyReLU": lambda L, t: L.nn.LeakyReLU(0.2, inplace=True)(t),
    "nn.ReLU6": lambda L, t: L.nn.ReLU6(inplace=True)(t * 4),
    "nn.ELU": lambda L, t: L.nn.ELU(inplace=True)(t),
    "F.dropout p=1": lambda L, t: L.nn.functional.dropout(t, 1.0, True, inplace=True),
}


@pytest.mark.parametrize("name", INPLACE)
def test_inplace_true_writes_into_the_input_where_nothing_is_recorded(name):
    """nn.ReLU(inplace=True)(h) left h unchanged and returned a new tensor; F.relu(x,
    inplace=True) raised TypeError."""
    seen = []
    for lib in (cr, torch):
        t = lib.tensor([[1.0, -2.0, 0.5]])
        out = INPLACE[name](lib, t)
        seen.append((t.tolist(), out.tolist(), out is t))
    assert seen[0] == seen[1]


def test_inplace_true_under_autograd_gives_pytorchs_values_and_gradients():
    grads = []
    for lib in (cr, torch):
        w = lib.tensor([[1.0, -2.0, 0.5]], requires_grad=True)
        out = lib.nn.ReLU(inplace=True)(w * 3)
        (out * lib.tensor([[1.0, 2.0, 3.0]])).sum().backward()
        grads.append((out.tolist(), w.grad.tolist()))
    assert grads[0] == grads[1]


def test_cat_of_a_0d_tensor_names_the_problem():
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        cr.cat([cr.tensor(1.0), cr.tensor(2.0)])
    with pytest.raises(RuntimeError, match="zero-dimensional tensor"):
        torch.cat([torch.tensor(1.0), torch.tensor(2.0)])
