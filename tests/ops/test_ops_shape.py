"""Shape ops and indexing against PyTorch: the gradient goes back where each number came from."""

import numpy as np
import pytest
from op_check import UNARY, case, check_case, ids

import chainrule as cr

torch = pytest.importorskip("torch")
F = torch.nn.functional

MASK = np.array([True, False, True, True])
REPEATED = np.array([0, 2, 0, 0, 3])
ROWS, COLS = np.array([0, 1, 0, 3]), np.array([2, 2, 2, 0])
M43 = [((4, 3),)]
T234 = [((2, 3, 4),)]

CASES = [
    *case("reshape", lambda x: x.reshape(6, 2), lambda t: t.reshape(6, 2), M43),
    *case("reshape_neg", lambda x: x.reshape(-1, 4), lambda t: t.reshape(-1, 4), T234),
    *case("view_tuple", lambda x: x.view((3, 4)), lambda t: t.view((3, 4)), M43),
    *case("flatten", lambda x: x.flatten(), lambda t: t.flatten(), UNARY),
    *case("flatten_1", lambda x: x.flatten(1), lambda t: t.flatten(1), T234),
    *case("T", lambda x: x.T, lambda t: t.T, M43),
    *case("T_1d", lambda x: x.T, lambda t: t, [((3,),)]),  # a vector's .T is itself
    *case("transpose_01", lambda x: x.transpose(0, 1), lambda t: t.transpose(0, 1), M43),
    *case("transpose_3d", lambda x: x.transpose(0, 2), lambda t: t.transpose(0, 2), T234),
    *case("permute", lambda x: x.permute(2, 0, 1), lambda t: t.permute(2, 0, 1), T234),
    *case("swapaxes", lambda x: x.swapaxes(1, -1), lambda t: t.swapaxes(1, -1), T234),
    *case("expand", lambda x: x.expand(2, 4, 3), lambda t: t.expand(2, 4, 3), [((4, 1),)]),
    *case("expand_keep", lambda x: x.expand(-1, 5), lambda t: t.expand(-1, 5), [((4, 1),)]),
    *case(
        "broadcast_to",
        lambda x: x.broadcast_to((4, 3)),
        lambda t: t.broadcast_to((4, 3)),
        [((3,),), ((),)],
    ),
    *case("squeeze", lambda x: x.squeeze(), lambda t: t.squeeze(), [((4, 1, 3, 1),)]),
    *case("squeeze_axis", lambda x: x.squeeze(1), lambda t: t.squeeze(1), [((4, 1, 3, 1),)]),
    *case("unsqueeze", lambda x: x.unsqueeze(0), lambda t: t.unsqueeze(0), UNARY),
    *case("unsqueeze_last", lambda x: x.unsqueeze(dim=-1), lambda t: t.unsqueeze(-1), M43),
    *case(
        "cat",
        lambda a, b: cr.cat([a, b], axis=1),
        lambda a, b: torch.cat([a, b], 1),
        [((4, 3), (4, 2))],
    ),
    *case(
        "cat_dim0",
        lambda a, b: cr.concatenate([a, b, a], dim=0),
        lambda a, b: torch.cat([a, b, a], 0),
        [((2, 3), (1, 3))],
    ),
    *case(
        "stack",
        lambda a, b: cr.stack([a, b], axis=1),
        lambda a, b: torch.stack([a, b], 1),
        [((4, 3), (4, 3))],
    ),
    *case(
        "stack_scalars", lambda a, b: cr.stack([a, b]), lambda a, b: torch.stack([a, b]), [((), ())]
    ),
    *case(
        "split_int",
        lambda x: cr.cat([p * (i + 1) for i, p in enumerate(x.split(2, axis=1))], axis=1),
        lambda t: torch.cat([p * (i + 1) for i, p in enumerate(t.split(2, 1))], 1),
        [((2, 5),)],
    ),
    *case(
        "split_sizes",
        lambda x: cr.cat([p * (i + 1) for i, p in enumerate(x.split([1, 3]))]),
        lambda t: torch.cat([p * (i + 1) for i, p in enumerate(t.split([1, 3]))]),
        M43,
    ),
    *case("pad", lambda x: cr.pad(x, ((1, 0), (2, 1))), lambda t: F.pad(t, (2, 1, 1, 0)), M43),
    *case(
        "pad_value",
        lambda x: cr.pad(x, 1, value=0.5),
        lambda t: F.pad(t, (1, 1), value=0.5),
        [((3,),)],
    ),
    *case("index_int", lambda x: x[1], lambda t: t[1], M43),
    *case("index_neg", lambda x: x[-1, 2], lambda t: t[-1, 2], M43),
    *case("index_slice", lambda x: x[1:3], lambda t: t[1:3], M43),
    *case("index_step", lambda x: x[::2, 1:], lambda t: t[::2, 1:], M43),
    *case("index_none", lambda x: x[None, :, None], lambda t: t[None, :, None], M43),
    *case("index_ellipsis", lambda x: x[..., 1], lambda t: t[..., 1], T234),
    *case("index_ellipsis_none", lambda x: x[0, ..., None], lambda t: t[0, ..., None], T234),
    *case("index_bool", lambda x: x[MASK], lambda t: t[torch.tensor(MASK)], M43),
    *case("index_bool_data", lambda x: x[x.data > 0], lambda t: t[t > 0], M43),
    *case("index_repeated", lambda x: x[REPEATED], lambda t: t[torch.tensor(REPEATED)], M43),
    *case("index_list", lambda x: x[[1, 1, 0]], lambda t: t[[1, 1, 0]], M43),
    *case(
        "index_pairs",
        lambda x: x[ROWS, COLS],
        lambda t: t[torch.tensor(ROWS), torch.tensor(COLS)],
        M43,
    ),
    *case("index_mixed", lambda x: x[REPEATED, 1:], lambda t: t[torch.tensor(REPEATED), 1:], M43),
    *case(
        "index_tensor", lambda x: x[cr.tensor(REPEATED)], lambda t: t[torch.tensor(REPEATED)], M43
    ),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("c", CASES, ids=ids(CASES))
def test_shape_op(c, dtype):
    check_case(c, dtype)


def test_repeated_indices_accumulate():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2, 0])].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0])


def test_split_pieces_are_views_of_the_right_sizes():
    x = cr.arange(10).astype("float32")
    assert [p.shape for p in x.split(4)] == [(4,), (4,), (2,)]


@pytest.mark.parametrize(
    "a, b",
    [
        ("float32", "int64"),
        ("int32", "int64"),
        ("bool", "int32"),
        ("float32", "float64"),
        ("bool", "float32"),
        ("int64", "float64"),
    ],
)
def test_cat_and_stack_promote_dtypes_as_pytorch(a, b):
    """float32 joined with int64 stays float32 (NumPy's concatenate would give float64)."""
    torch = pytest.importorskip("torch")
    x, y = cr.ones(2, dtype=a), cr.ones(2, dtype=b)
    tx, ty = torch.ones(2, dtype=getattr(torch, a)), torch.ones(2, dtype=getattr(torch, b))
    assert cr.cat([x, y]).dtype == str(torch.cat([tx, ty]).dtype).removeprefix("torch.")
    assert cr.stack([y, x]).dtype == str(torch.stack([ty, tx]).dtype).removeprefix("torch.")


def test_cat_of_mixed_dtypes_keeps_the_gradient_in_the_inputs_dtype():
    w = cr.ones(2, requires_grad=True)
    out = cr.cat([w, cr.ones(1, dtype="float64")])
    out.sum().backward()
    assert out.dtype == "float64" and w.grad.dtype == "float32"
    np.testing.assert_array_equal(w.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize(
    "op",
    [
        lambda lib, x: lib.flip(x, (0,)),
        lambda lib, x: x.flip(-1),
        lambda lib, x: x.transpose(0, -1),
        lambda lib, x: lib.transpose(x, -1, -1),
        lambda lib, x: lib.sort(x).values,
    ],
)
@pytest.mark.parametrize("dtype", ["float64", "bool"])
def test_a_zero_dim_tensor_takes_dim_0_and_minus_1_as_pytorch(op, dtype):
    # flip raised, transpose was an IndexError, sort turned a bool into int64
    grads = dtype == "float64"
    theirs = torch.tensor(2.0, requires_grad=grads).to(getattr(torch, dtype))
    ours = cr.tensor(2.0, requires_grad=grads, dtype=dtype)
    t, o = op(torch, theirs), op(cr, ours)
    assert o.shape == tuple(t.shape) == () and str(o.dtype) == dtype
    assert o.item() == t.item()
    if grads:
        o.backward()
        assert ours.grad.item() == 1.0


def test_a_zero_dim_tensor_refuses_dim_1_for_flip_and_transpose():
    for call in (lambda x: x.flip(1), lambda x: x.transpose(0, 1)):
        with pytest.raises(cr.errors.DimensionError):
            call(cr.tensor(2.0))


_DIM_CALLS = {
    "cat": lambda lib, t, d: lib.cat([t, t], d),
    "stack": lambda lib, t, d: lib.stack([t, t], d),
    "flatten": lambda lib, t, d: t.flatten(0, d),
    "flatten start": lambda lib, t, d: t.flatten(d),
}


@pytest.mark.parametrize("dim", [0, 1, -1, -2, -3, 2, 3, 5, True, False, 1.0, 0.5])
@pytest.mark.parametrize("call", _DIM_CALLS)
def test_cat_stack_flatten_read_dim_as_torch_never_wrapped_or_truncated(call, dim):
    # cat([x, x], 2) of a matrix joined along axis 0 (2 % 2), stack(3) along axis 0 and
    # flatten(0, True) as flatten(0, 1): PyTorch raises IndexError / TypeError there
    x = np.arange(6.0).reshape(2, 3)
    fn = _DIM_CALLS[call]
    try:
        expected = fn(torch, torch.tensor(x), dim).numpy()
    except (IndexError, TypeError) as err:
        with pytest.raises(type(err)):
            fn(cr, cr.tensor(x), dim)
        return
    np.testing.assert_array_equal(fn(cr, cr.tensor(x), dim).numpy(), expected)


_ONE_DIM_CALLS = {
    "argmax": lambda t, d: t.argmax(d),
    "argmin": lambda t, d: t.argmin(d),
    "softmax": lambda t, d: t.softmax(d),
    "log_softmax": lambda t, d: t.log_softmax(d),
}


@pytest.mark.parametrize("dim", [0, -1, 2, -3, True, 1.0, (1,)], ids=repr)
@pytest.mark.parametrize("call", _ONE_DIM_CALLS)
def test_one_dim_ops_refuse_bad_dims_with_torchs_error_class(call, dim):
    # argmax(2) raised NumPy's AxisError ("axis 2 is out of bounds"), softmax(1.0) a ShapeError
    x = np.arange(6.0).reshape(2, 3)
    fn = _ONE_DIM_CALLS[call]
    try:
        expected = fn(torch.tensor(x), dim).numpy()
    except (IndexError, TypeError) as err:
        with pytest.raises(type(err), match=r"^(?!axis \d+ is out of bounds)"):
            fn(cr.tensor(x), dim)
        with pytest.raises(cr.ChainruleError if type(err) is IndexError else TypeError):
            fn(cr.tensor(x), dim)
        return
    np.testing.assert_allclose(fn(cr.tensor(x), dim).numpy(), expected)
