"""Second derivatives through the fused losses (MSE, L1, Huber, NLL of class indices): their
``backward_graph`` records the gradient on tensors, so ``create_graph=True`` works through them
as it did through the composites they replace."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.testing import gradgradcheck

F = cr.nn.functional
RNG = np.random.default_rng(3)
A = RNG.uniform(0.5, 1.5, (2, 3))
B = RNG.uniform(-1.5, -0.5, (2, 3))  # a·a − b stays away from 0 and from Huber's kink at ±1
LABELS = np.array([2, 0])


def _t(values):
    return cr.tensor(values, requires_grad=True, dtype="float64")


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize(
    "loss",
    [
        lambda a, b, r: F.mse_loss(a * a, b, reduction=r),
        lambda a, b, r: F.l1_loss(a * a, b, reduction=r),
        lambda a, b, r: F.huber_loss(a * a, b * 0.5, reduction=r, delta=1.0),
        lambda a, b, r: F.huber_loss(a * a, b, reduction=r, delta=0.5),
        lambda a, b, r: F.nll_loss(a * b, LABELS, reduction=r),
    ],
    ids=["mse", "l1", "huber_inside", "huber_outside", "nll"],
)
def test_fused_losses_have_second_derivatives(loss, reduction):
    def fn(a, b):
        out = loss(a, b, reduction)
        return out.sum() if reduction == "none" else out

    assert gradgradcheck(fn, _t(A), _t(B))
