"""The four arithmetic operators take a short path for two tensors of one dtype object
(elementwise._binary_fast_path): it must give what the general path gives, in every case that
leaves it (broadcasting, shapes that do not broadcast, equal dtypes that are different objects,
parameters, scalars, integer division)."""

import numpy as np
import pytest
import torch

import chainrule as cr

OPS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


def _apply(symbol, a, b):
    return {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[symbol]


@pytest.mark.parametrize("symbol", sorted(OPS))
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 3), (3,)), ((4, 1), (1, 5)), ((3,), ())])
def test_values_and_gradients_match_pytorch(symbol, shapes):
    rng = np.random.default_rng(0)
    a0 = rng.uniform(0.5, 2.0, shapes[0])
    b0 = rng.uniform(0.5, 2.0, shapes[1])
    a, b = (cr.tensor(v, dtype="float64", requires_grad=True) for v in (a0, b0))
    ta, tb = (torch.tensor(v, requires_grad=True) for v in (a0, b0))
    out = _apply(symbol, a, b)
    ref = _apply(symbol, ta, tb)
    (out * out).sum().backward()
    (ref * ref).sum().backward()
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-12)
    assert a.grad.shape == a.shape and b.grad.shape == b.shape


@pytest.mark.parametrize("symbol", sorted(OPS))
def test_shapes_that_do_not_broadcast_name_both_shapes(symbol):
    a = cr.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(cr.ShapeError, match=r"\(2, 3\) and \(4,\)"):
        _apply(symbol, a, cr.tensor(np.ones(4)))


@pytest.mark.parametrize("symbol", sorted(OPS))
def test_equal_dtypes_that_are_different_objects_take_the_general_path(symbol):
    # A big-endian float32 equals no native dtype object: the general path converts it.
    a = cr.tensor([1.0, 2.0], requires_grad=True)
    b = cr.Tensor._make(np.array([4.0, 8.0], dtype=">f4"), False)
    out = _apply(symbol, a, b)
    expected = OPS[symbol](np.array([1.0, 2.0], np.float32), np.array([4.0, 8.0], np.float32))
    np.testing.assert_allclose(out.detach().numpy(), expected, rtol=1e-6)
    out.sum().backward()
    assert a.grad.dtype == cr.float32


def test_parameters_scalars_and_integer_division_keep_their_meaning():
    w = cr.nn.Parameter(cr.tensor([1.0, 2.0]))
    x = cr.tensor([3.0, 4.0])
    (w * x + 1).sum().backward()
    assert w.grad.tolist() == [3.0, 4.0]
    assert (cr.tensor([7, 8]) / cr.tensor([2, 4])).tolist() == [3.5, 2.0]
    assert (cr.tensor([7, 8]) / cr.tensor([2, 4])).dtype == cr.get_default_dtype()
    assert (2 * cr.tensor([1.0])).dtype == cr.float32
