"""Parity probe, round 9: bit shifts by any count, scatter's reduce names, embedding's
max_norm, and the fuzzed areas of round 9, each checked against PyTorch itself."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

INT_DTYPES = ("uint8", "int8", "int16", "int32", "int64")


def _kind(fn):
    """The value as a list with its dtype's name, or the builtin class of the error raised
    (the one a PyTorch script's ``except`` names)."""
    try:
        result = fn()
    except NotImplementedError:  # before RuntimeError: it is one
        return "NotImplementedError"
    except RuntimeError:
        return "RuntimeError"
    except (ValueError, TypeError, OverflowError, IndexError) as err:
        return type(err).__name__
    return result.tolist(), str(result.dtype).replace("torch.", "")


# ---- << and >> by negative, too large and wrapped counts -----------------------------------------
def _shift(lib, dtype, op, count, in_place):
    values = [1, 200, 3] if dtype == "uint8" else [1, -7, 3]
    x = lib.tensor(values, dtype=getattr(lib, dtype))
    if in_place:
        if op == "<<":
            x <<= count
        else:
            x >>= count
        return x
    return x << count if op == "<<" else x >> count


@pytest.mark.parametrize("dtype", INT_DTYPES)
@pytest.mark.parametrize("count", [-65, -3, -1, 9, 33, 64, 100, 2**40, 2**63, -(2**63)])
@pytest.mark.parametrize("op", ["<<", ">>"])
@pytest.mark.parametrize("in_place", [False, True])
def test_shifts_by_any_count_of_64_bits_give_pytorchs_values(dtype, count, op, in_place):
    ours = _kind(lambda: _shift(cr, dtype, op, count, in_place))
    assert ours == _kind(lambda: _shift(torch, dtype, op, count, in_place))
    assert ours[1] == dtype


@pytest.mark.parametrize("count", [2**64, -(2**63) - 1])
def test_a_shift_count_beyond_64_bits_is_an_overflow_error_as_in_pytorch(count):
    assert _kind(lambda: _shift(cr, "uint8", "<<", count, False)) == "OverflowError"
    assert _kind(lambda: _shift(torch, "uint8", "<<", count, False)) == "OverflowError"


def _bool_shifts(lib):
    x = lib.tensor([True, False])

    def in_place(other):
        y = x.clone()
        y <<= other
        return y

    return {
        "bool << 2": lambda: x << 2,
        "bool << bool": lambda: x << x,
        "bool << True": lambda: x << True,
        "bool <<= 2": lambda: in_place(2),
        "bool <<= int tensor": lambda: in_place(lib.tensor([1, 2])),
        "bool <<= bool": lambda: in_place(x),
    }


def test_shifts_of_bools_answer_as_in_pytorch():
    ours = {name: _kind(call) for name, call in _bool_shifts(cr).items()}
    assert ours == {name: _kind(call) for name, call in _bool_shifts(torch).items()}
    assert ours["bool << 2"] == ([4, 0], "int64")


# ---- argument values an op does not take: PyTorch's RuntimeError ---------------------------------
def _bad_arguments(lib):
    x, index = lib.zeros(3), lib.tensor([0, 2])
    return {
        "scatter_reduce('bad')": lambda: x.scatter_reduce(0, index, lib.ones(2), "bad"),
        "scatter_reduce_('add')": lambda: x.clone().scatter_reduce_(0, index, lib.ones(2), "add"),
        "scatter(reduce='mean')": lambda: x.scatter(0, index, lib.ones(2), reduce="mean"),
        "scatter_(value, reduce='sum')": lambda: x.clone().scatter_(0, index, 2.0, reduce="sum"),
        "clamp()": lambda: x.clamp(),
        "clip()": lambda: x.clip(),
        "clamp_()": lambda: x.clone().clamp_(),
        "trunc_normal_(a > b)": lambda: lib.nn.init.trunc_normal_(x.clone(), a=2.0, b=-2.0),
        "-bool": lambda: -lib.tensor([True, False]),
        "bool.neg()": lambda: lib.tensor([True]).neg(),
    }


@pytest.mark.filterwarnings("ignore:The reduce argument of torch.scatter")
def test_argument_values_an_op_does_not_take_raise_pytorchs_runtime_error():
    ours = {name: _kind(call) for name, call in _bad_arguments(cr).items()}
    assert ours == {name: _kind(call) for name, call in _bad_arguments(torch).items()}
    assert set(ours.values()) == {"RuntimeError"}


def test_a_bad_reduce_name_is_still_a_value_error():
    with pytest.raises(ValueError, match="reduce argument must be either sum, prod"):
        cr.zeros(3).scatter_reduce(0, cr.tensor([0]), cr.ones(1), "add")


# ---- Embedding(max_norm=, norm_type=, scale_grad_by_freq=) ---------------------------------------
WEIGHT = np.random.default_rng(9).normal(size=(6, 4)) * 2
IDS = [[0, 2, 2], [5, 2, 1]]


def _embedding_run(lib, dtype, **options):
    weight = lib.tensor(WEIGHT, dtype=getattr(lib, dtype), requires_grad=True)
    out = lib.nn.functional.embedding(lib.tensor(IDS), weight, **options)
    (out * lib.arange(4.0, dtype=out.dtype)).sum().backward()
    return [t.detach().numpy() for t in (out, weight, weight.grad)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("max_norm", [None, 1.0, 2.5, -0.5])
@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 0.5])
@pytest.mark.parametrize("padding_idx", [None, 2])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_embedding_options_give_pytorchs_rows_weights_and_gradients(
    dtype, max_norm, norm_type, padding_idx, scale_grad_by_freq
):
    options = dict(
        max_norm=max_norm,
        norm_type=norm_type,
        padding_idx=padding_idx,
        scale_grad_by_freq=scale_grad_by_freq,
    )
    ours, theirs = _embedding_run(cr, dtype, **options), _embedding_run(torch, dtype, **options)
    for got, expected in zip(ours, theirs):
        assert got.dtype == expected.dtype
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_max_norm_leaves_rows_not_looked_up_as_they_were():
    weight = cr.tensor(WEIGHT, dtype="float64")
    cr.nn.functional.embedding(cr.tensor([0, 2]), weight, max_norm=1.0)
    np.testing.assert_array_equal(weight.numpy()[[1, 3, 4, 5]], WEIGHT[[1, 3, 4, 5]])
    np.testing.assert_allclose(np.linalg.norm(weight.numpy()[[0, 2]], axis=1), 1.0, rtol=1e-6)


def _renorm_after_use(lib, saved: bool):
    """A weight renormalised after an op used it: an op that saved it cannot differentiate."""
    leaf = lib.tensor(WEIGHT, dtype=lib.float32, requires_grad=True)
    weight = leaf * 2
    loss = (weight * weight).sum() if saved else (weight + 1).sum()
    lib.nn.functional.embedding(lib.tensor([0, 1]), weight, max_norm=0.5)
    loss.backward()
    return leaf.grad


def test_max_norm_ticks_the_weights_version_as_pytorch():
    for saved in (True, False):
        ours = _kind(lambda: _renorm_after_use(cr, saved))  # noqa: B023
        assert ours == _kind(lambda: _renorm_after_use(torch, saved))  # noqa: B023
    assert _kind(lambda: _renorm_after_use(cr, True)) == "RuntimeError"


def _layers(lib):
    return [
        lib.nn.Embedding(5, 2, None, 1.0, 1.0, True),  # PyTorch's positional order
        lib.nn.Embedding(5, 2, padding_idx=0, max_norm=1, norm_type=float("inf")),
        lib.nn.Embedding.from_pretrained(lib.ones(3, 2), max_norm=0.5, scale_grad_by_freq=True),
    ]


def test_embedding_layers_with_options_print_as_pytorchs():
    assert [repr(m) for m in _layers(cr)] == [repr(m) for m in _layers(torch)]


def test_module_max_norm_renormalises_its_weight_as_pytorchs():
    ours, theirs = cr.nn.Embedding(6, 4, max_norm=1.5), torch.nn.Embedding(6, 4, max_norm=1.5)
    with cr.no_grad():
        ours.weight.copy_(cr.tensor(WEIGHT))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(WEIGHT))
    ours(cr.tensor(IDS)), theirs(torch.tensor(IDS))
    np.testing.assert_allclose(ours.weight.detach().numpy(), theirs.weight.detach().numpy())


def _embedding_errors(lib):
    return {
        "1-D weight": lambda: lib.nn.functional.embedding(lib.tensor([0]), lib.ones(3)),
        "3-D weight": lambda: lib.nn.functional.embedding(lib.tensor([0]), lib.ones(3, 2, 2)),
        "int weight, max_norm": lambda: lib.nn.functional.embedding(
            lib.tensor([0]), lib.ones(3, 2, dtype=lib.int64), max_norm=1.0
        ),
        "float ids, max_norm": lambda: lib.nn.functional.embedding(
            lib.tensor([0.0]), lib.ones(3, 2), max_norm=1.0
        ),
    }


def test_embedding_errors_are_pytorchs_classes():
    ours = {name: _kind(call) for name, call in _embedding_errors(cr).items()}
    assert ours == {name: _kind(call) for name, call in _embedding_errors(torch).items()}


def test_sparse_embedding_gradients_are_refused_by_name():
    for make in (
        lambda: cr.nn.Embedding(3, 2, sparse=True),
        lambda: cr.nn.Embedding.from_pretrained(cr.ones(3, 2), sparse=True),
        lambda: cr.nn.functional.embedding(cr.tensor([0]), cr.ones(3, 2), sparse=True),
    ):
        with pytest.raises(cr.NotSupportedError, match="sparse=True"):
            make()


def _second_order_of_scaled_lookup(lib, padding_idx):
    weight = lib.tensor(WEIGHT, dtype=lib.float64, requires_grad=True)
    upstream = lib.tensor(WEIGHT[:4].reshape(2, 2, 4), dtype=lib.float64, requires_grad=True)
    out = lib.nn.functional.embedding(
        lib.tensor(IDS), weight * weight, padding_idx=padding_idx, scale_grad_by_freq=True
    )
    (grad,) = lib.autograd.grad((out**3).sum(), weight, create_graph=True)
    (grad**2).sum().backward()
    # the derivative by the upstream gradient: PyTorch's rows without 1/count
    ids = lib.tensor([[0, 2], [2, 2]])
    out = lib.nn.functional.embedding(ids, weight, padding_idx=padding_idx, scale_grad_by_freq=True)
    (of_upstream,) = lib.autograd.grad(out, weight, grad_outputs=upstream, create_graph=True)
    (of_upstream * lib.arange(24.0, dtype=lib.float64).reshape(6, 4)).sum().backward()
    return [t.detach().numpy() for t in (grad, weight.grad, upstream.grad)]


@pytest.mark.parametrize("padding_idx", [None, 1, 2])
def test_scale_grad_by_freq_gives_pytorchs_second_derivatives(padding_idx):
    ours = _second_order_of_scaled_lookup(cr, padding_idx)
    theirs = _second_order_of_scaled_lookup(torch, padding_idx)
    for got, expected in zip(ours, theirs):
        np.testing.assert_allclose(got, expected, rtol=1e-12)


# ---- in-place writes of an operand that requires grad --------------------------------------------
IN_PLACE_WRITES = {
    "add_": lambda buf, x: buf.add_(x),
    "add_(alpha=)": lambda buf, x: buf.add_(x, alpha=2),
    "mul_": lambda buf, x: buf.mul_(x),
    "+=": lambda buf, x: buf.__iadd__(x),
    "copy_": lambda buf, x: buf.copy_(x),
    "clamp_": lambda buf, x: buf.clamp_(x, None),
    "masked_fill_": lambda buf, x: buf.masked_fill_(buf > 0, x[0]),
    "buf[0] = x[0]": lambda buf, x: _set(buf, 0, x[0]),
    "buf[:2] = x[:2]": lambda buf, x: _set(buf, slice(0, 2), x[:2]),
}


def _set(buf, index, value):
    buf[index] = value
    return buf


RECORDED = ("add_", "add_(alpha=)", "mul_", "+=", "masked_fill_", "buf[0] = x[0]")
RECORDED += ("buf[:2] = x[:2]", "copy_")


@pytest.mark.parametrize("name", IN_PLACE_WRITES)
def test_an_in_place_write_of_an_operand_that_requires_grad_raises_not_loses_it(name):
    """PyTorch records such a write in the graph; so does chainrule for the writes it records
    (autograd/inplace_graph.py: same values and gradient), and refuses the others where it
    would have dropped the operand's gradient silently."""
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    theirs = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    expected = IN_PLACE_WRITES[name](torch.tensor([2.0, 2.0, 2.0]), theirs)
    assert expected.requires_grad
    if name in RECORDED:  # was a GraphError: now PyTorch's values and gradient
        got = IN_PLACE_WRITES[name](cr.tensor([2.0, 2.0, 2.0]), x)
        assert got.requires_grad and got.tolist() == expected.tolist()
        (got * got).sum().backward()
        (expected * expected).sum().backward()
        np.testing.assert_allclose(x.grad.data, theirs.grad.numpy(), rtol=1e-6)
    else:
        with pytest.raises(cr.GraphError, match="requires grad"):
            IN_PLACE_WRITES[name](cr.tensor([2.0, 2.0, 2.0]), x)
    buf = cr.tensor([2.0, 2.0, 2.0])
    with cr.no_grad():  # outside grad mode nothing is lost: the write is PyTorch's
        IN_PLACE_WRITES[name](buf, x)
    with torch.no_grad():
        expected = IN_PLACE_WRITES[name](torch.tensor([2.0, 2.0, 2.0]), theirs)
    assert buf.tolist() == expected.tolist()


# ---- integer arithmetic with 0-d tensors and numbers ---------------------------------------------
def _with_0d(lib):
    v = lib.tensor([-3, 0, 100], dtype=lib.int8)
    u = lib.tensor([0, 7, 200], dtype=lib.uint8)
    return {
        "int8 & 0-d uint8": lambda: v & lib.tensor(200, dtype=lib.uint8),
        "int8 | 0-d int64": lambda: v | lib.tensor(5),
        "uint8 ^ 0-d int16": lambda: u ^ lib.tensor(-1, dtype=lib.int16),
        "0-d int16 & int8": lambda: lib.tensor(3, dtype=lib.int16) & v,
        "bool & 0-d int64": lambda: lib.tensor([True, False]) & lib.tensor(3),
        "0-d float % 0-d float": lambda: lib.tensor(5.5) % lib.tensor(2.0),
        "0-d int % 0-d float": lambda: lib.tensor(-7) % lib.tensor(2.0, dtype=lib.float64),
        "0-d float % 0-d int": lambda: lib.tensor(-4.0) % lib.tensor(2),
        "uint8 ** 255": lambda: u**255,
        "uint8 ** 256": lambda: u**256,
        "int8 ** 200": lambda: v**200,
    }


def test_integer_ops_with_0d_tensors_and_numbers_give_pytorchs_dtypes_values_and_errors():
    ours = {name: _kind(call) for name, call in _with_0d(cr).items()}
    assert ours == {name: _kind(call) for name, call in _with_0d(torch).items()}
    assert ours["int8 & 0-d uint8"][1] == "int8"


# ---- clamp / lerp dtypes, mode of an empty dim -----------------------------------------------
def _clamp_lerp(lib):
    mask, other = lib.tensor([True, False, True]), lib.tensor([False, True, False])
    x = lib.tensor([1.0, -2.0, 4.0])
    return {
        "bool.clamp(min=True)": lambda: mask.clamp(min=True),
        "bool.clamp(True, True)": lambda: mask.clamp(True, True),
        "bool.clamp(min=bool tensor)": lambda: mask.clamp(min=other),
        "bool.clamp(bool tensor, bool tensor)": lambda: mask.clamp(other, other),
        "bool.clamp(min=2)": lambda: mask.clamp(min=2),
        "bool.clamp_(min=True)": lambda: mask.clone().clamp_(min=True),
        "bool.clamp_(min=bool tensor)": lambda: mask.clone().clamp_(min=other),
        "lerp(float, float, 0-d int weight)": lambda: lib.lerp(x, x * 3, lib.tensor(2)),
        "lerp(float, float, 0-d bool weight)": lambda: lib.lerp(x, x * 3, lib.tensor(True)),
        "lerp(float, float, int weight)": lambda: lib.lerp(x, x * 3, lib.tensor([1, 0, 1])),
        "lerp(int, int, 0.5)": lambda: lib.lerp(lib.tensor([1, 2]), lib.tensor([3, 4]), 0.5),
        "lerp(float, int end, 0.5)": lambda: lib.lerp(x, lib.tensor([1, 2, 3]), 0.5),
    }


def test_clamp_lerp_and_mode_answer_as_pytorch():
    ours = {name: _kind(call) for name, call in _clamp_lerp(cr).items()}
    assert ours == {name: _kind(call) for name, call in _clamp_lerp(torch).items()}
    for lib in (cr, torch):  # PyTorch's IndexError (chainrule's is a RuntimeError too)
        with pytest.raises(IndexError):
            lib.zeros(2, 0).mode(1)


# ---- a list of index lists is a tuple of indexes, as in PyTorch ----------------------------------
LIST_INDEXES = [
    [[0, 1], [1, 0]],
    [[0, 1], [1, 2]],
    [[0], [1], [2]],
    [slice(None), 1],
    [None, 0],
    [Ellipsis, 1],
    [0, [1, 2]],
    [[True, False], [0, 2]],
    [[0, 1]],
    [0, 1],
]


@pytest.mark.filterwarnings("ignore:Using a non-tuple sequence")
@pytest.mark.parametrize("index", LIST_INDEXES, ids=str)
def test_a_list_holding_lists_slices_or_none_indexes_as_a_tuple(index):
    def run(lib):
        x = lib.arange(24.0).reshape(2, 3, 4).requires_grad_()
        y = x[index]
        (y * y).sum().backward()
        written = lib.arange(24).reshape(2, 3, 4)
        written[index] = -1
        return [t.detach().numpy() for t in (y, x.grad, written)]

    for got, expected in zip(run(cr), run(torch)):
        np.testing.assert_array_equal(got, expected)


def test_a_list_read_as_a_tuple_warns_as_pytorch():
    with pytest.warns(UserWarning, match="non-tuple sequence"):
        cr.arange(6).reshape(2, 3)[[[0, 1], [1, 2]]]


# ---- rounding, and the repr of empty tensors -------------------------------------------------
def _rounding(lib):
    half = lib.tensor([1234.5, 12.345, -0.125, 0.5], dtype=lib.float16)
    ints, mask = lib.tensor([1, -2]), lib.tensor([True, False])
    return {
        "float16.round(decimals=1)": lambda: half.round(decimals=1),
        "float16.round(decimals=-2)": lambda: half.round(decimals=-2),
        "int.round()": lambda: ints.round(),
        "int.round(decimals=0)": lambda: ints.round(decimals=0),
        "int.round(decimals=2)": lambda: ints.round(decimals=2),
        "bool.round()": lambda: mask.round(),
        "bool.floor()": lambda: mask.floor(),
        "bool.ceil()": lambda: mask.ceil(),
        "bool.trunc()": lambda: mask.trunc(),
        "bool.abs()": lambda: mask.abs(),
        "bool.sign()": lambda: mask.sign(),
        "float.round(decimals=0)": lambda: lib.tensor([2.5, -1.5]).round(decimals=0),
    }


def test_rounding_answers_as_pytorch():
    ours = {name: _kind(call) for name, call in _rounding(cr).items()}
    assert ours == {name: _kind(call) for name, call in _rounding(torch).items()}
    assert ours["float16.round(decimals=1)"][0][0] == 1234.0  # scaled in float32, as there


def _empty_reprs(lib):
    tensors = [lib.zeros(0, dtype=getattr(lib, name)) for name in ("bool", "int64", "float64")]
    tensors += [lib.zeros(0), lib.zeros(0, 2, dtype=lib.int64), lib.tensor([1, 2])]
    return [repr(t).replace("torch.", "") for t in tensors]


def test_empty_tensors_name_their_dtype_as_pytorch():
    assert _empty_reprs(cr) == _empty_reprs(torch)
    cr.set_default_dtype(cr.float64)
    torch.set_default_dtype(torch.float64)
    try:
        assert _empty_reprs(cr) == _empty_reprs(torch)
        assert repr(cr.tensor([1.0], dtype=cr.float32)) == "tensor([1.], dtype=float32)"
    finally:
        cr.set_default_dtype(cr.float32)
        torch.set_default_dtype(torch.float32)


# ---- which inputs an op keeps: a write after the op fails backward() only if it read them -----
PRODUCTS = {
    "a * b": lambda lib, a, b: a * b,
    "a @ b.T": lambda lib, a, b: a @ b.t(),
    "linear(a, b)": lambda lib, a, b: lib.nn.functional.linear(a, b),
    "linear(a, b, bias)": lambda lib, a, b: lib.nn.functional.linear(a, b, b[:, 0]),
    "a / b": lambda lib, a, b: a / b,
    "where(a > 2, a, b)": lambda lib, a, b: lib.where(a > 2, a, b),
    "a + b": lambda lib, a, b: a + b,
    "exp(a) * b": lambda lib, a, b: a.exp() * b,
    "sigmoid(a) + tanh(b)": lambda lib, a, b: a.sigmoid() + b.tanh(),
    "relu(a) + sqrt(b)": lambda lib, a, b: a.relu() + b.sqrt(),
}


def _write_after_use(lib, name, a_needs_grad, b_needs_grad, written):
    a = lib.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=a_needs_grad)
    b = lib.tensor([[2.0, 1.0, 3.0], [1.0, 2.0, 1.0]], requires_grad=b_needs_grad)
    out = PRODUCTS[name](lib, a, b)
    with lib.no_grad():  # an optimizer's step, say, before this backward()
        (a if written == "a" else b).add_(1)
    out.sum().backward()
    return [None if t.grad is None else t.grad.numpy() for t in (a, b)]


@pytest.mark.parametrize("name", PRODUCTS)
@pytest.mark.parametrize("needs", [(True, False), (False, True), (True, True)])
@pytest.mark.parametrize("written", ["a", "b"])
def test_a_write_after_use_fails_backward_exactly_where_pytorchs_does(name, needs, written):
    def run(lib):
        try:
            return _write_after_use(lib, name, *needs, written)
        except RuntimeError as err:
            assert "in place" in str(err) or "inplace" in str(err)
            return "modified by an inplace operation"

    ours, theirs = run(cr), run(torch)
    assert isinstance(ours, str) == isinstance(theirs, str), (ours, theirs)
    if not isinstance(theirs, str):
        for got, expected in zip(ours, theirs):
            assert (got is None) == (expected is None)
            if got is not None:
                np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_max_norm_on_a_weight_a_product_used_leaves_its_gradient_as_pytorchs():
    def run(lib):
        weight = lib.tensor(WEIGHT, dtype=lib.float32, requires_grad=True)
        out = lib.ones(2, 6) @ weight  # reads only ones for weight's gradient
        rows = lib.nn.functional.embedding(lib.tensor([0, 1]), weight, max_norm=1.0)
        (out.sum() + rows.sum()).backward()
        return weight.grad.numpy()

    np.testing.assert_allclose(run(cr), run(torch))


def _graph_gradient_after_a_write(lib, op):
    x = lib.tensor([1.0, 2.0], requires_grad=True)
    y = op(x)
    with lib.no_grad():
        x.add_(1)
    (grad,) = lib.autograd.grad(y.sum(), x, create_graph=True)
    return grad.detach().numpy()


@pytest.mark.parametrize(
    "op", [lambda x: x * x, lambda x: x**3, lambda x: x.exp()], ids=["x*x", "x**3", "exp"]
)
def test_create_graph_after_a_write_raises_rather_than_differentiate_new_values(op):
    """With create_graph=True the gradient is rebuilt from the inputs: after a write to one it
    would use the new values (x * x gave 2·(x + 1)); it raises as backward() does."""
    with pytest.raises(RuntimeError, match="changed in place"):
        _graph_gradient_after_a_write(cr, op)
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    (grad,) = cr.autograd.grad((x * x).sum(), x, create_graph=True)  # no write: as before
    assert grad.tolist() == [2.0, 4.0]


def _in_place_values(lib):
    x, mask = lib.tensor([1, 0, 3]), lib.tensor([True, False, True])
    return {
        "fill_(1-D tensor)": lambda: x.clone().fill_(lib.tensor([2, 1, 2])),
        "fill_(0-d tensor)": lambda: x.clone().fill_(lib.tensor(2)),
        "masked_fill_(mask, 1-D tensor)": lambda: x.clone().masked_fill_(mask, lib.tensor([5])),
        "masked_fill_(mask, 0-d tensor)": lambda: x.clone().masked_fill_(mask, lib.tensor(5)),
        "bool.abs_()": lambda: mask.clone().abs_(),
        "bool.clamp_min_(True)": lambda: mask.clone().clamp_min_(True),
        "bool.clamp_max_(bool tensor)": lambda: mask.clone().clamp_max_(~mask),
    }


def test_in_place_fills_and_bool_bounds_answer_as_pytorch():
    ours = {name: _kind(call) for name, call in _in_place_values(cr).items()}
    assert ours == {name: _kind(call) for name, call in _in_place_values(torch).items()}


def _grad_fn_names(lib):
    a = lib.ones(2, 2, 3, requires_grad=True)
    b = lib.ones(2, 3, 2, requires_grad=True)
    x = lib.ones(2, 3, requires_grad=True)
    return [
        lib.bmm(a, b).grad_fn.name(),
        (a @ b).grad_fn.name(),
        lib.nn.functional.cosine_similarity(x, x * 2).grad_fn.name(),
        repr(lib.bmm(a, b).sum()).split("grad_fn=")[1],
    ]


def test_bmm_and_cosine_similarity_name_their_grad_fn_as_pytorch():
    assert _grad_fn_names(cr) == _grad_fn_names(torch)


def _reduction_dtypes(lib):
    ints = lib.tensor([[1, 0, 3], [2, 5, 1]], dtype=lib.int8)
    return {
        "int.mean(dtype=int32)": lambda: ints.mean(dtype=lib.int32),
        "float.mean(dtype=int64)": lambda: ints.float().mean(dtype=lib.int64),
        "int.mean(dtype=float64)": lambda: ints.mean(dtype=lib.float64),
        "int.nansum(dtype=int32)": lambda: ints.nansum(dtype=lib.int32),
        "int.nansum()": lambda: ints.nansum(),
        "bool.nansum(dim=0, dtype=int16)": lambda: (ints > 1).nansum(0, dtype=lib.int16),
    }


def test_mean_and_nansum_honour_dtype_as_pytorch():
    ours = {name: _kind(call) for name, call in _reduction_dtypes(cr).items()}
    assert ours == {name: _kind(call) for name, call in _reduction_dtypes(torch).items()}
