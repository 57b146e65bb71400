"""BCELoss and BCEWithLogitsLoss go straight to their op for two tensors of one float dtype and
shape (nn/loss.py, _plain_pair): the same values and gradients as the checked path, which every
other call still takes (promotion, conversion, errors)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.errors import ShapeError


@pytest.mark.parametrize(
    "module, functional",
    [
        (nn.BCELoss, cr.nn.functional.binary_cross_entropy),
        (nn.BCEWithLogitsLoss, cr.nn.functional.binary_cross_entropy_with_logits),
    ],
)
@pytest.mark.parametrize("dtype", [cr.float32, cr.float64])
def test_plain_pair_matches_the_functional(module, functional, dtype):
    rng = np.random.default_rng(0)
    values = rng.uniform(0.05, 0.95, (6, 2))
    target = cr.tensor((rng.random((6, 2)) > 0.5).astype(float), dtype=dtype)
    grads = []
    for fn in (module(), functional):
        x = cr.tensor(values, dtype=dtype, requires_grad=True)
        loss = fn(x, target)
        loss.backward()
        grads.append((loss.item(), x.grad.numpy().copy()))
    assert grads[0][0] == grads[1][0]
    np.testing.assert_array_equal(grads[0][1], grads[1][1])


def test_other_calls_still_take_the_checked_path():
    logits = cr.tensor([[0.2], [-1.0]], requires_grad=True)
    wide = nn.BCEWithLogitsLoss()(logits, cr.tensor([[1.0], [0.0]], dtype=cr.float64))
    assert wide.dtype == cr.float64  # a float64 target promotes, as PyTorch
    with pytest.raises(ShapeError, match="reshape the target"):
        nn.BCEWithLogitsLoss()(logits, cr.tensor([1.0, 0.0]))
    ints = nn.BCEWithLogitsLoss()(logits, cr.tensor([[1], [0]]))  # 0/1 integer labels convert
    assert ints.dtype == cr.float32
    weighted = nn.BCEWithLogitsLoss(pos_weight=cr.tensor([3.0]))(logits, cr.tensor([[1.0], [0.0]]))
    plain = nn.BCEWithLogitsLoss()(logits, cr.tensor([[1.0], [0.0]]))
    assert weighted.item() != plain.item()
    summed = nn.BCELoss(reduction="sum")(cr.sigmoid(logits), cr.tensor([[1.0], [0.0]]))
    mean = nn.BCELoss()(cr.sigmoid(logits), cr.tensor([[1.0], [0.0]]))
    assert summed.item() == pytest.approx(2 * mean.item())
