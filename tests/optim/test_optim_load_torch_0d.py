"""A PyTorch state dict for a 0-d parameter (a learned scale or temperature) loads and the run
continues with PyTorch's numbers. Its state arrives as 0-d tensors, which used to become Python
floats here, and the next step failed ('float' object has no attribute 'size')."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

CASES = [
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, amsgrad=True)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("NAdam", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1)),
    ("ASGD", dict(lr=0.1, t0=1)),
    ("Rprop", dict(lr=0.1)),
    ("Adafactor", dict(lr=0.1)),
]


def _grad(values, t):
    return [np.asarray(2.0 * v + np.sin(t + i), dtype=np.float64) for i, v in enumerate(values)]


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=lambda c: str(c))
def test_torch_state_dict_of_a_0d_parameter_continues(name, kwargs):
    init = [np.array(1.5), np.array([0.5, -1.0])]
    theirs = [torch.tensor(v.copy(), requires_grad=True) for v in init]
    torch_opt = getattr(torch.optim, name)(theirs, **kwargs)

    def torch_step(t):
        for p, g in zip(theirs, _grad([p.detach().numpy() for p in theirs], t)):
            p.grad = torch.from_numpy(g)
        torch_opt.step()

    for t in range(3):
        torch_step(t)
    ours = [
        cr.tensor(p.detach().numpy().copy(), requires_grad=True, dtype="float64") for p in theirs
    ]
    opt = getattr(optim, name)(ours, **kwargs)
    opt.load_state_dict(copy.deepcopy(torch_opt.state_dict()))
    for t in range(3, 8):
        torch_step(t)
        for p, g in zip(ours, _grad([p.array for p in ours], t)):
            p.grad = g
        opt.step()
    for mine, reference in zip(ours, theirs):
        assert mine.array.shape == tuple(reference.shape)
        np.testing.assert_allclose(mine.array, reference.detach().numpy(), rtol=1e-12)
    assert isinstance(opt.state[ours[0]].get("step", 0), int)
