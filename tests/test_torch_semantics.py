"""Where chainrule uses PyTorch's name it gives PyTorch's answer: reductions, promotion, grad."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr

torch = pytest.importorskip("torch")

_MATRIX = st.integers(1, 4).flatmap(
    lambda rows: st.integers(1, 4).flatmap(
        lambda cols: st.lists(
            st.lists(st.integers(-4, 4).map(float), min_size=cols, max_size=cols),
            min_size=rows,
            max_size=rows,
        )
    )
)


@settings(max_examples=40, deadline=None)
@given(values=_MATRIX, dim=st.sampled_from([0, 1, -1]), keepdim=st.booleans())
def test_max_min_with_dim_return_values_and_indices_like_torch(values, dim, keepdim):
    for name in ("max", "min"):
        x = cr.tensor(values, dtype="float64", requires_grad=True)
        tx = torch.tensor(values, dtype=torch.float64, requires_grad=True)
        ours = getattr(x, name)(dim, keepdim)
        theirs = getattr(tx, name)(dim, keepdim)
        assert type(ours).__name__ == name and ours._fields == ("values", "indices")
        np.testing.assert_array_equal(ours.values.array, theirs.values.detach().numpy())
        # the gradient goes to the element the index names (ties: one element, not shared)
        ours.values.sum().backward()
        picked = np.zeros_like(x.array)
        index = ours.indices.array if keepdim else np.expand_dims(ours.indices.array, dim)
        np.put_along_axis(picked, index, 1.0, axis=dim)
        np.testing.assert_array_equal(x.grad_array, picked)
        # where values tie, the chosen index may differ from PyTorch's; its value may not
        torch_index = theirs.indices.numpy()
        if not keepdim:
            torch_index = np.expand_dims(torch_index, dim)
        np.testing.assert_array_equal(
            np.take_along_axis(np.asarray(values), torch_index, axis=dim),
            np.take_along_axis(np.asarray(values), index, axis=dim),
        )


def test_max_of_two_tensors_is_elementwise_and_full_max_shares_ties():
    a, b = cr.tensor([1.0, 5.0, 3.0]), cr.tensor([2.0, 4.0, 3.0])
    assert (
        cr.max(a, b).tolist()
        == torch.max(torch.tensor([1.0, 5, 3]), torch.tensor([2.0, 4, 3])).tolist()
    )
    x = cr.tensor([2.0, 2.0, 1.0], requires_grad=True)
    tx = torch.tensor([2.0, 2.0, 1.0], requires_grad=True)
    x.max().backward()
    tx.max().backward()
    np.testing.assert_allclose(x.grad_array, tx.grad.numpy())
    values, indices = cr.max(cr.tensor([[1.0, 9.0], [7.0, 3.0]]), 1)
    assert values.tolist() == [9.0, 7.0] and indices.tolist() == [1, 0]
    with pytest.raises(TypeError, match="amax"):
        cr.tensor([[1.0]]).max(dim=(0, 1))


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"unbiased": False},
        {"correction": 0},
        {"dim": 1},
        {"dim": 0, "keepdim": True},
        {"correction": 2, "dim": 1},
    ],
)
def test_var_and_std_defaults_follow_torch(kwargs):
    values = [[1.0, 2.0, 4.0, 8.0], [0.5, -1.0, 3.0, 2.0], [1.0, 1.0, 1.0, 0.0]]
    for name in ("var", "std"):
        ours = getattr(cr.tensor(values, dtype="float64"), name)(**kwargs)
        theirs = getattr(torch.tensor(values, dtype=torch.float64), name)(**kwargs)
        np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=1e-12)


_PROMOTION = [
    lambda m: m.tensor([1.0, 2.0]) * m.tensor([3, 4]),
    lambda m: m.tensor([1, 2]) + 1.5,
    lambda m: m.tensor([1, 2]) / m.tensor([2, 4]),
    lambda m: m.tensor([1.0, 2.0]) ** m.tensor([2, 3]),
    lambda m: m.tensor([1.0, 2.0]) * m.tensor(3.0, dtype=m.float64),
    lambda m: m.tensor([1.0, 2.0], dtype=m.float64) * m.tensor([3.0, 1.0]),
    lambda m: m.tensor([True, False]) + 1,
    lambda m: m.tensor([1, 2], dtype=m.int32) + m.tensor([1, 2]),
    lambda m: m.tensor([1.0, 2.0]) * np.float64(2.0),
]


@pytest.mark.parametrize("expression", range(len(_PROMOTION)))
def test_type_promotion_follows_torch(expression):
    ours = _PROMOTION[expression](cr)
    theirs = _PROMOTION[expression](torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.array, theirs.numpy(), rtol=1e-6)


def test_default_dtype_can_be_changed_and_restored():
    assert cr.get_default_dtype() == np.float32
    try:
        cr.set_default_dtype("float64")
        assert cr.tensor([1.5]).dtype == np.float64 and (cr.tensor([1]) * 0.5).dtype == np.float64
        assert cr.zeros(2).dtype == np.float64
    finally:
        cr.set_default_dtype("float32")
    with pytest.raises(cr.DTypeError, match="float32 or float64"):
        cr.set_default_dtype("int64")


def test_layers_made_after_set_default_dtype_hold_that_dtype_as_pytorchs():
    """torch.set_default_dtype(torch.float64) makes nn.Linear's parameters float64; layers here
    kept float32, and the first float64 batch was refused."""
    layers = {
        "Linear": lambda m: m.Linear(3, 2),
        "Conv2d": lambda m: m.Conv2d(1, 2, 3),
        "BatchNorm1d": lambda m: m.BatchNorm1d(3),
        "LayerNorm": lambda m: m.LayerNorm(3),
        "Embedding": lambda m: m.Embedding(4, 2),
    }
    old = torch.get_default_dtype()
    try:
        cr.set_default_dtype("float64")
        torch.set_default_dtype(torch.float64)
        for name, make in layers.items():
            ours = {n: p.dtype for n, p in make(cr.nn).named_parameters()}
            theirs = {
                n: str(p.dtype).removeprefix("torch.") for n, p in make(torch.nn).named_parameters()
            }
            assert ours == {n: np.dtype(d) for n, d in theirs.items()} and ours, name
        model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 1))
        assert model(cr.linspace(0, 1, 6).reshape(2, 3)).dtype == np.float64
        assert cr.nn.Linear(3, 2, dtype="float32").weight.dtype == np.float32  # asked: kept
    finally:
        cr.set_default_dtype("float32")
        torch.set_default_dtype(old)
    assert cr.nn.Linear(3, 2).weight.dtype == np.float32


def test_autograd_grad_returns_gradients_and_leaves_dot_grad_alone():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    w = cr.tensor([3.0, 4.0], requires_grad=True)
    h = x * w
    y = (h * h).sum()
    gx, gh = cr.autograd.grad(y, [x, h], retain_graph=True)
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    tw = torch.tensor([3.0, 4.0], requires_grad=True)
    th = tx * tw
    tgx, tgh = torch.autograd.grad((th * th).sum(), [tx, th])
    np.testing.assert_allclose(gx.array, tgx.numpy())
    np.testing.assert_allclose(gh.array, tgh.numpy())
    assert x.grad is None and w.grad is None
    (gv,) = cr.autograd.grad([h], [w], grad_outputs=[cr.tensor([1.0, -1.0])])
    assert gv.tolist() == [1.0, -2.0]
    unused = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(cr.GraphError, match="allow_unused"):
        cr.autograd.grad((x * 2).sum(), [unused])
    assert cr.autograd.grad((x * 2).sum(), [unused], allow_unused=True) == (None,)
    (g2,) = cr.autograd.grad((x * x).sum(), [x], create_graph=True)
    assert g2.requires_grad and g2.tolist() == [2.0, 4.0]


def test_grad_fn_names_and_next_functions_like_torch():
    w = cr.tensor([1.0], requires_grad=True)
    y = (w * 2).sum()
    tw = torch.tensor([1.0], requires_grad=True)
    ty = (tw * 2).sum()
    assert y.grad_fn.name() == "SumBackward0" == ty.grad_fn.name()
    ((mul, _),) = y.grad_fn.next_functions
    assert mul.name() == "MulBackward0"
    (leaf, _), (const, _) = mul.next_functions
    assert leaf.variable is w and const is None
    assert (
        type(leaf).__name__ == type(ty.grad_fn.next_functions[0][0].next_functions[0][0]).__name__
    )


def test_numpy_functions_on_tensors():
    x = cr.tensor([1.0, -2.0], requires_grad=True)
    assert np.isfinite(x).all()
    y = np.ones(2) * x  # an ndarray on the left still builds the graph
    assert isinstance(y, cr.Tensor) and y.requires_grad
    mask = (x > 0) & (x < 5)
    assert mask.tolist() == [True, False]


SIZE_DIMS = [
    None,
    0,
    2,
    -1,
    -3,
    np.int64(1),
    np.int32(-2),
    True,
    False,
    1.0,
    1.5,
    "1",
    np.bool_(True),
    (1,),
    3,
    -4,
]


@pytest.mark.parametrize("dim", SIZE_DIMS, ids=repr)
@pytest.mark.parametrize("shape", [(2, 3, 4), ()])
def test_size_of_a_dim_follows_torch_including_bad_dims(shape, dim):
    expected, error = None, None
    try:
        expected = torch.zeros(shape).size(dim)
    except (TypeError, IndexError) as e:
        error = type(e)
    x = cr.zeros(shape)
    if error is not None:
        with pytest.raises(error):
            x.size(dim)
    else:
        assert x.size(dim) == (tuple(expected) if dim is None else expected)


def test_size_reads_a_zero_dim_integer_tensor_as_its_value_and_refuses_a_float_one():
    x = cr.zeros((2, 3, 4))
    assert x.size(cr.tensor(1)) == 3
    with pytest.raises(TypeError, match="must be an int"):
        x.size(cr.tensor(1.0))
    with pytest.raises(IndexError, match=r"range of \[-3, 2\], but got 3"):
        x.size(3)
