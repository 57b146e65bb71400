"""clamp with tensor bounds: values, dtypes and the three gradients, against PyTorch."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("bounds", [("min", "max"), ("min",), ("max",)])
def test_tensor_bounds_give_pytorchs_values_and_gradients(bounds):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 5))
    arrays = {"min": rng.standard_normal((4, 5)) - 0.3, "max": rng.standard_normal(5) + 0.3}
    arrays["min"][0, :3] = 2.0  # low above high: the result is high, which gets the gradient
    x[1, 0] = arrays["min"][1, 0]  # ties with each bound
    x[2, 1] = arrays["max"][1]
    upstream = rng.standard_normal((4, 5))
    tx, cx = torch.tensor(x, requires_grad=True), cr.tensor(x, dtype=cr.float64, requires_grad=True)
    tb = {k: torch.tensor(arrays[k], requires_grad=True) for k in bounds}
    cb = {k: cr.tensor(arrays[k], dtype=cr.float64, requires_grad=True) for k in bounds}
    theirs, ours = torch.clamp(tx, **tb), cr.clamp(cx, **cb)
    theirs.backward(torch.tensor(upstream))
    ours.backward(upstream)
    np.testing.assert_array_equal(ours.detach().numpy(), theirs.detach().numpy())
    np.testing.assert_array_equal(cx.grad.numpy(), tx.grad.numpy())
    for k in bounds:
        np.testing.assert_array_equal(cb[k].grad.numpy(), tb[k].grad.numpy())


def test_tensor_bounds_promote_and_broadcast_as_pytorch():
    ours = cr.tensor([1, 5, 3]).clamp(min=cr.tensor([2.0, 0.0, 3.0]))
    theirs = torch.tensor([1, 5, 3]).clamp(min=torch.tensor([2.0, 0.0, 3.0]))
    assert ours.tolist() == theirs.tolist() and str(ours.dtype) == "float32"
    wide = cr.tensor([1.0, 5.0, 3.0]).clamp(min=cr.tensor([[2.0], [0.0]]))
    assert (
        wide.tolist()
        == torch.tensor([1.0, 5.0, 3.0]).clamp(min=torch.tensor([[2.0], [0.0]])).tolist()
    )
    print(repr(wide))  # a printable tensor (the bounds' tensors used to end up inside it)
    with pytest.raises(cr.errors.ShapeError):
        cr.tensor([1.0, 2.0]).clamp(max=cr.tensor([1.0, 2.0, 3.0]))
