"""cr.compile with ``detach()``: a detached op value is that op's value in every call.

``detach()`` shares the array and drops the tensor, so the recorder once saw a detached
one-element value as an unknown 0-d array and baked the first call's number in as a constant:
the loss reported from the second batch on was wrong (the gradients were not). A detached
value of any shape must be read afresh each call, carry no gradient, and keep the NumPy tier
from writing over the array it shares (compile_reuse).
"""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim

RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 3)).astype(np.float32)
Y = RNG.standard_normal((64, 2)).astype(np.float32)


def scaled_mse(out, y):
    """MSE divided by a detached statistic of the output (a non-scalar detach)."""
    return ((out - y) ** 2).mean() / (out.detach().abs().mean() + 1.0)


def value_of_mean_gradient_of_sum(out, y):
    """The sklearn wrappers' form: the mean's value with the sum's gradient (a 0-d detach)."""
    total = ((out - y) ** 2).sum(axis=1).mean()
    return total - total.detach() * 0.5


class DetachedReluReader(nn.Module):
    """h = relu(fc(x)) is also read through detach(): ReLU must not write over fc's output."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 5)
        self.head = nn.Linear(5, 2)

    def forward(self, x):
        z = self.fc(x)
        return self.head(cr.relu(z)) + z.detach().mean(axis=1, keepdims=True)


def _train(model_fn, loss_fn, compiled, backend="numpy", steps=4):
    cr.manual_seed(0)
    model = model_fn()
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = cr.compile_step(model, loss_fn, opt, backend=backend) if compiled else None
    losses = []
    for i in range(steps):
        x, y = X[16 * i : 16 * (i + 1)], Y[16 * i : 16 * (i + 1)]
        if step is None:
            opt.zero_grad()
            loss = loss_fn(model(cr.as_tensor(x)), cr.as_tensor(y))
            loss.backward()
            opt.step()
        else:
            loss = step(x, y)
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def _mlp():
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


@pytest.mark.parametrize(
    "model_fn, loss_fn",
    [
        (_mlp, scaled_mse),
        (_mlp, value_of_mean_gradient_of_sum),
        (DetachedReluReader, nn.MSELoss()),
    ],
    ids=["detach-of-output", "detach-of-loss", "detach-beside-relu"],
)
def test_numpy_tier_reads_detached_values_afresh(model_fn, loss_fn):
    eager_losses, eager_params = _train(model_fn, loss_fn, compiled=False)
    losses, params = _train(model_fn, loss_fn, compiled=True)
    assert losses == eager_losses  # every batch's own value, bit for bit
    assert len(set(losses)) == len(losses)  # (the batches differ, so a baked constant shows)
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a, b)


def test_detached_value_carries_no_gradient():
    # value − detach(value) is 0 whatever the batch, and its gradient is the value's own
    def zero_valued(out, y):
        loss = ((out - y) ** 2).mean()
        return loss - loss.detach()

    eager_losses, eager_params = _train(_mlp, zero_valued, compiled=False)
    losses, params = _train(_mlp, zero_valued, compiled=True)
    assert losses == eager_losses == [0.0] * 4
    for a, b in zip(params, eager_params):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(params, _train(_mlp, zero_valued, False, steps=0)[1])
    )


def test_jit_tier_reads_detached_values_afresh():
    pytest.importorskip("numba")
    eager_losses, eager_params = _train(_mlp, value_of_mean_gradient_of_sum, compiled=False)
    try:
        losses, params = _train(_mlp, value_of_mean_gradient_of_sum, compiled=True, backend="numba")
    except cr.errors.GraphError as err:  # an op of the loss without a jit kernel: said so
        assert "jit" in str(err) or "kernel" in str(err)
        return
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-5)
    for a, b in zip(params, eager_params):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
