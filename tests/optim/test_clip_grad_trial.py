"""clip_grad_value_ takes PyTorch's arguments and no others (a misspelt keyword raised nothing)."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("foreach", [None, True, False])
def test_clip_grad_value_with_foreach_matches_torch(foreach):
    grad = np.array([-3.0, 0.2, 5.0, np.nan])
    w = cr.tensor(np.zeros(4), requires_grad=True, dtype="float64")
    t = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    w.grad, t.grad = grad.copy(), torch.from_numpy(grad.copy())
    cr.nn.utils.clip_grad_value_([w], 1.0, foreach=foreach)
    torch.nn.utils.clip_grad_value_([t], 1.0, foreach=foreach)
    np.testing.assert_array_equal(np.asarray(w.grad), t.grad.numpy())


def test_clip_grad_value_refuses_an_unknown_keyword_as_torch():
    w = cr.tensor(np.zeros(2), requires_grad=True, dtype="float64")
    w.grad = np.array([3.0, -3.0])
    with pytest.raises(TypeError, match="forech"):
        torch.nn.utils.clip_grad_value_([torch.zeros(2, requires_grad=True)], 1.0, forech=True)
    with pytest.raises(TypeError, match="forech"):
        cr.nn.utils.clip_grad_value_([w], 1.0, forech=True)
