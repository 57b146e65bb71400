"""nanmedian against PyTorch: values, indices, shapes and gradients over all elements and
along dims, with ties, NaNs and all-NaN slices; float64 finite differences."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradcheck

torch = pytest.importorskip("torch")

NAN = float("nan")
INPUTS = {
    "slices": [[NAN, NAN, NAN], [1.0, NAN, 1.0], [2.0, 1.0, 2.0], [3.0, 3.0, 1.0], [4.0, 0.5, NAN]],
    "ties": [2.0, 1.0, 2.0, 2.0, NAN],
    "even": [4.0, 1.0, 3.0, 2.0],
    "all_nan": [NAN, NAN],
    "scalar": 3.0,
    "empty": np.zeros(0),
}


def compare(ours_out, theirs_out, ours_in, theirs_in):
    assert ours_out.shape == tuple(theirs_out.shape)
    np.testing.assert_array_equal(ours_out.detach().numpy(), theirs_out.detach().numpy())
    if not theirs_out.requires_grad:
        return
    upstream = np.random.default_rng(0).standard_normal(ours_out.shape)
    ours_out.backward(cr.tensor(upstream, dtype="float64"))
    theirs_out.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours_in.grad, theirs_in.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("name", INPUTS)
def test_over_all_elements_matches_torch(name):
    array = np.asarray(INPUTS[name], dtype=np.float64)
    ours_in = cr.tensor(array, dtype="float64", requires_grad=True)
    theirs_in = torch.tensor(array, requires_grad=True)
    compare(cr.nanmedian(ours_in), torch.nanmedian(theirs_in), ours_in, theirs_in)
    assert cr.tensor(array).nanmedian().tolist() == pytest.approx(
        torch.tensor(array).float().nanmedian().tolist(), nan_ok=True
    )


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1, -2])
def test_along_a_dim_matches_torch_values_and_indices(dim, keepdim):
    array = np.asarray(INPUTS["slices"])
    ours_in = cr.tensor(array, dtype="float64", requires_grad=True)
    theirs_in = torch.tensor(array, requires_grad=True)
    ours = ours_in.nanmedian(dim, keepdim)
    theirs = theirs_in.nanmedian(dim, keepdim)
    assert type(ours).__name__ == "nanmedian"
    np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
    assert ours.indices.dtype == np.int64
    compare(ours.values, theirs.values, ours_in, theirs_in)


def test_integers_and_edge_dims_as_torch():
    assert (
        cr.nanmedian(cr.tensor([1, 2, 3, 4])).tolist()
        == torch.nanmedian(torch.tensor([1, 2, 3, 4])).item()
    )
    values, indices = cr.nanmedian(cr.tensor(3.0), -1)
    assert (values.item(), indices.item()) == (3.0, 0)
    assert cr.nanmedian(cr.zeros(3, 0), 0).values.shape == (0,)
    with pytest.raises(IndexError):
        torch.nanmedian(torch.zeros(0, 3), 0)
    with pytest.raises(IndexError, match="nanmedian"):
        cr.nanmedian(cr.zeros(0, 3), 0)
    with pytest.raises(IndexError):
        cr.nanmedian(cr.zeros(2, 3), 2)


def test_gradients_pass_float64_finite_differences():
    x = cr.tensor(
        [[0.3, NAN, -1.2, 2.0], [1.5, 0.2, 0.9, NAN]], dtype="float64", requires_grad=True
    )
    assert gradcheck(lambda t: cr.nanmedian(t, 1).values * 3, x)
    y = cr.tensor([0.3, NAN, -1.2, 2.0, 0.7], dtype="float64", requires_grad=True)
    assert gradcheck(lambda t: cr.nanmedian(t) ** 2, y)
