"""Indexing where PyTorch's rules differ from NumPy's: values, gradients and assignment."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

# x has shape (2, 3, 4, 5). With an integer among index arrays NumPy moves the arrays'
# dimension to the front; PyTorch selects with the integers first.
INDEXES = [
    "[0, :, [0, 2]]",
    "[:, 0, :, [1, 2]]",
    "[0, ..., [1, 2]]",
    "[0, None, :, [1, 2]]",
    "[0, :, [[0], [2]], [1, 2]]",
    "[0, :, 0, [1, 2]]",
    "[L.tensor(0), :, [0, 2]]",
    "[np.int64(0), :, L.tensor([0, 2])]",
    "[[0, 1], 0, [0, 1]]",
    "[:, [0, 1], 0, [1, 2]]",
    "[1, [True, False, True]]",
    "[1, L.tensor([[True, False, True, True], [False] * 4, [True] * 4])]",
    "[0]",
    "[..., 0]",
]


@pytest.mark.parametrize("index", INDEXES)
def test_indexing_values_gradients_and_assignment_match_torch(index):
    base = np.arange(120, dtype=np.float64).reshape(2, 3, 4, 5)
    theirs = torch.tensor(base, requires_grad=True)
    ours = cr.tensor(base, dtype=cr.float64, requires_grad=True)
    t = eval("x" + index, {"x": theirs, "L": torch, "np": np})
    o = eval("x" + index, {"x": ours, "L": cr, "np": np})
    assert o.shape == tuple(t.shape)
    np.testing.assert_array_equal(o.detach().numpy(), t.detach().numpy())
    upstream = np.random.default_rng(0).standard_normal(o.shape)
    t.backward(torch.tensor(upstream))
    o.backward(upstream)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    # x[index] = v writes the same places
    values = -np.arange(np.prod(o.shape), dtype=np.float64).reshape(o.shape)
    t_written, o_written = torch.tensor(base), cr.tensor(base, dtype=cr.float64)
    exec("x" + index + " = v", {"x": t_written, "L": torch, "np": np, "v": torch.tensor(values)})
    exec("x" + index + " = v", {"x": o_written, "L": cr, "np": np, "v": cr.tensor(values)})
    np.testing.assert_array_equal(o_written.numpy(), t_written.numpy())


def test_a_uint8_index_tensor_is_a_mask_with_pytorchs_warning():
    x = cr.tensor([0.5, -1.0, 2.0])
    mask = cr.tensor([1, 0, 1], dtype="uint8")
    with pytest.warns(UserWarning, match="uint8"):
        picked = x[mask]
    assert picked.tolist() == [0.5, 2.0]
    with pytest.warns(UserWarning, match="uint8"):
        x[mask] = 0.0
    assert x.tolist() == [0.0, -1.0, 0.0]


def test_view_refuses_what_needs_a_copy_and_contiguity_is_reported():
    for lib in (torch, cr):
        x = lib.zeros(3, 3)
        assert not x.t().is_contiguous() and x.is_contiguous() and not x[:, :2].is_contiguous()
        assert x.t().contiguous().is_contiguous()
        v = x.view(9)
        v[1] = 5  # a view writes through
        assert x[0, 1].item() == 5
        assert tuple(x.t().reshape(9).shape) == (9,)
    with pytest.raises(cr.errors.ShapeError, match=r"use \.reshape"):
        cr.zeros(3, 3).t().view(9)
    with pytest.raises(cr.errors.ShapeError, match="cannot turn shape"):
        cr.zeros(3, 3).view(4)
    x = cr.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    x.t().contiguous().view(6).sum().backward()  # the copy is in the graph
    assert x.grad.tolist() == [[1.0] * 3] * 2
