"""cr.compile replays basic indexing: a slice in an op's options (x[:, 1:], split, unbind) is a
plain value fixed by the recorded shapes, like an int index."""

import copy

import numpy as np

import chainrule as cr
from chainrule import nn, optim


class LastColumns(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(3, 1)

    def forward(self, x):
        first, rest = cr.split(x, [1, 3], dim=1)
        return self.linear(rest[:, 0:3]) + first[:, 0:1] * 0.5


def test_slicing_steps_compile_and_equal_the_eager_steps():
    model = LastColumns()
    twin = copy.deepcopy(model)
    loss_fn = nn.MSELoss()
    opt, twin_opt = optim.SGD(model.parameters(), lr=0.1), optim.SGD(twin.parameters(), lr=0.1)
    step = cr.compile_step(model, loss_fn, opt, backend="numpy")
    rng = np.random.default_rng(0)
    for _ in range(3):
        x = rng.standard_normal((8, 4)).astype(np.float32)
        y = rng.standard_normal((8, 1)).astype(np.float32)
        loss = step(x, y)
        twin_opt.zero_grad()
        twin_loss = loss_fn(twin(x), y)
        twin_loss.backward()
        twin_opt.step()
        assert loss.item() == twin_loss.item()
    assert len(step.plans) == 1  # recorded once, then replayed
    np.testing.assert_array_equal(
        model.linear.weight.detach().numpy(), twin.linear.weight.detach().numpy()
    )
