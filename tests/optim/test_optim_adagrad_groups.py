"""Adagrad's starting sum in a parameter group that sets its own initial_accumulator_value:
PyTorch uses the constructor's value (self.defaults) for every parameter; chainrule used the
group's, so a ported script with such groups drifted from PyTorch's numbers."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _run(lib, added_later):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(3), rng.standard_normal((2, 2))]
    if lib is torch:
        params = [torch.tensor(v, requires_grad=True) for v in init]
    else:
        params = [cr.tensor(v, requires_grad=True, dtype="float64") for v in init]
    group = {"params": params[1:], "initial_accumulator_value": 2.0, "lr": 0.05}
    groups = [{"params": params[:1]}] + ([] if added_later else [group])
    opt = lib.optim.Adagrad(groups, lr=0.1, lr_decay=0.01, initial_accumulator_value=0.3)
    if added_later:
        opt.add_param_group(group)
    for _ in range(5):
        for p in params:
            g = rng.standard_normal(p.shape)
            p.grad = torch.from_numpy(g) if lib is torch else g
        opt.step()
    sums = [np.asarray(opt.state[p]["sum"]) for p in params]
    values = [p.detach().numpy() for p in params]
    return values, sums, opt.param_groups[1]["initial_accumulator_value"]


@pytest.mark.parametrize("added_later", [False, True])
def test_group_initial_accumulator_value_acts_as_in_torch(added_later):
    mine, expected = _run(cr, added_later), _run(torch, added_later)
    for a, b in zip(mine[0] + mine[1], expected[0] + expected[1]):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)
    assert mine[2] == expected[2] == 2.0  # the group keeps the value it was given
