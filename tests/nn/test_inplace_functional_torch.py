"""The in-place activation functions ``F.relu_``, ``F.elu_``, ``F.hardtanh_``, ``F.leaky_relu_``
and ``F.threshold_`` (and ``torch.relu_`` / ``torch.threshold_``) against PyTorch: the input is
written and returned, values are PyTorch's bit for bit, a leaf that requires grad is refused and
a tensor in the middle of the graph written and recorded, as PyTorch's."""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F

torch = pytest.importorskip("torch")
TF = torch.nn.functional

_VALUES = np.array([[-3.0, -1.5, -0.2, -0.0, 0.0], [0.3, 0.6, 1.0, 2.0, np.nan]])

# name -> argument tuples to try (positional, as PyTorch's documented signatures)
CASES = {
    "relu_": [()],
    "elu_": [(), (0.5,), (2.0,), (-1.0,)],
    "hardtanh_": [(), (-0.5, 0.25), (0.0, 6.0), (2.0, 1.0), (-0.0, 0.0)],
    "leaky_relu_": [(), (0.2,), (-0.5,), (3.0,)],
    "threshold_": [(0.1, 7.0), (-1.0, -3.0), (0.0, 0.0)],
}
_PARAMS = [(name, args) for name, argsets in CASES.items() for args in argsets]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("name", "args"), _PARAMS)
def test_writes_the_input_as_torch(name, args, dtype):
    c = cr.tensor(_VALUES, dtype=dtype)
    t = torch.tensor(_VALUES, dtype=getattr(torch, dtype))
    if name == "hardtanh_" and args and args[0] > args[1]:
        # F.hardtanh refuses min_val > max_val; PyTorch's hardtanh_ takes it (max_val everywhere)
        expected = np.where(np.isnan(_VALUES), np.nan, args[1]).astype(dtype)
    else:
        expected = getattr(F, name.rstrip("_"))(cr.tensor(_VALUES, dtype=dtype), *args).numpy()
    out = getattr(F, name)(c, *args)
    getattr(TF, name)(t, *args)
    assert out is c
    np.testing.assert_array_equal(c.numpy(), expected)  # the out-of-place function's bits
    np.testing.assert_array_equal(np.isnan(c.numpy()), np.isnan(t.numpy()))
    if name == "elu_":  # the out-of-place elu's own distance from PyTorch's (1 ulp, ±0)
        np.testing.assert_allclose(c.numpy(), t.numpy(), rtol=2e-7, atol=0)
        return
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    number = ~np.isnan(t.numpy())
    np.testing.assert_array_equal(np.signbit(c.numpy())[number], np.signbit(t.numpy())[number])


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("elu_", {"alpha": 0.5}),
        ("hardtanh_", {"min_val": -0.5, "max_val": 0.25}),
        ("leaky_relu_", {"negative_slope": 0.2}),
        ("threshold_", {"threshold": 0.1, "value": 7.0}),
    ],
)
def test_keywords_are_torchs(name, kwargs):
    c = cr.tensor(_VALUES, dtype="float64")
    t = torch.tensor(_VALUES)
    getattr(F, name)(input=c, **kwargs)
    getattr(TF, name)(input=t, **kwargs)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_a_view_is_written_through_to_its_base():
    base_c, base_t = cr.tensor(_VALUES.copy()), torch.tensor(_VALUES.copy(), dtype=torch.float32)
    F.relu_(base_c[:, ::2])
    TF.relu_(base_t[:, ::2])
    np.testing.assert_array_equal(base_c.numpy(), base_t.numpy())


@pytest.mark.parametrize("name", ["relu_", "threshold_"])
def test_top_level_spellings(name):
    args = CASES[name][0]
    c, t = cr.tensor(_VALUES, dtype="float64"), torch.tensor(_VALUES)
    assert getattr(cr, name)(c, *args) is c
    getattr(torch, name)(t, *args)
    np.testing.assert_array_equal(c.numpy(), t.numpy())


def test_integer_relu_is_written_as_torch():
    c, t = cr.tensor([-2, 0, 3]), torch.tensor([-2, 0, 3])
    assert F.relu_(c) is c
    TF.relu_(t)
    np.testing.assert_array_equal(c.numpy(), t.numpy())
    assert c.dtype == cr.int64


@pytest.mark.parametrize(("name", "args"), [(name, argsets[0]) for name, argsets in CASES.items()])
def test_a_leaf_is_refused_and_a_tensor_of_the_graph_recorded(name, args):
    leaf = cr.tensor(_VALUES, requires_grad=True)
    with pytest.raises(cr.GraphError, match=f"{name}.*leaf tensor that requires grad"):
        getattr(F, name)(leaf, *args)
    with pytest.raises(RuntimeError):  # PyTorch refuses the leaf too
        getattr(TF, name)(torch.tensor(_VALUES, requires_grad=True), *args)
    # a tensor in the middle of the graph: written and recorded, as PyTorch's (was GraphError)
    inner = leaf * 1
    assert getattr(F, name)(inner, *args) is inner
    theirs = torch.tensor(_VALUES, dtype=torch.float32, requires_grad=True)
    their_inner = theirs * 1
    getattr(TF, name)(their_inner, *args)
    np.testing.assert_allclose(inner.detach().numpy(), their_inner.detach().numpy(), rtol=1e-6)
    torch.nan_to_num(their_inner).sum().backward()
    cr.nan_to_num(inner).sum().backward()
    np.testing.assert_allclose(leaf.grad.numpy(), theirs.grad.numpy(), rtol=1e-6)
    with cr.no_grad():  # nothing recorded: written, as PyTorch's under no_grad
        work = leaf.detach().clone()
        assert getattr(F, name)(work, *args) is work


@pytest.mark.parametrize("name", list(CASES))
def test_not_a_tensor_is_a_type_error(name):
    args = CASES[name][0]
    with pytest.raises(TypeError, match="must be a Tensor, not ndarray"):
        getattr(F, name)(_VALUES.copy(), *args)


def test_threshold_needs_both_numbers():
    with pytest.raises(TypeError, match="value"):
        F.threshold_(cr.tensor([1.0]), 0.5)


@pytest.mark.parametrize("name", ["elu_", "leaky_relu_"])
def test_integer_input_is_refused_as_torch(name):
    with pytest.raises(NotImplementedError):
        getattr(TF, name)(torch.tensor([-1, 2]))
    with pytest.raises(NotImplementedError, match="floating-point"):
        getattr(F, name)(cr.tensor([-1, 2]))


def test_top_level_threshold_refuses_a_recorded_tensor_as_torch():
    # it used to hand back a new tensor and leave the leaf as it was, where PyTorch raises
    leaf = cr.tensor([-1.0, 2.0], requires_grad=True)
    with pytest.raises(cr.GraphError, match="threshold_"):
        cr.threshold_(leaf, 0.0, 5.0)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        torch.threshold_(torch.tensor([-1.0, 2.0], requires_grad=True), 0.0, 5.0)
    np.testing.assert_array_equal(leaf.detach().numpy(), [-1.0, 2.0])
