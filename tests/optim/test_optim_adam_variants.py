"""NAdam, RAdam and Adamax beyond the step-by-step comparison in test_optim_vs_torch.py:
PyTorch's defaults, state layout, validation, and resuming from PyTorch's own state_dict."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

NAMES = ["Adam", "NAdam", "RAdam", "Adamax"]
OPTIONS = {
    "Adam": dict(lr=0.01, weight_decay=0.1, amsgrad=True),
    "NAdam": dict(lr=0.01, weight_decay=0.1, momentum_decay=0.01, decoupled_weight_decay=True),
    "RAdam": dict(lr=0.01, betas=(0.9, 0.9), weight_decay=0.1, maximize=True),
    "Adamax": dict(lr=0.01, weight_decay=0.1),
}


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax"])
def test_defaults_and_state_keys_are_torchs(name):
    w, tw = (
        cr.tensor([1.0, -2.0], requires_grad=True),
        torch.tensor([1.0, -2.0], requires_grad=True),
    )
    ours, theirs = getattr(optim, name)([w]), getattr(torch.optim, name)([tw])
    for key, value in ours.defaults.items():
        assert theirs.defaults[key] == value, key
    (w * w).sum().backward()
    (tw * tw).sum().backward()
    ours.step()
    theirs.step()
    assert set(ours.state[w]) == set(theirs.state[tw])
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-6)


def _quadratic(params, lib, t):
    for i, p in enumerate(params):
        value = p.detach().numpy() if lib is torch else p.detach().numpy()
        grad = (i + 1.0) * value + np.sin(t + np.arange(value.size)).reshape(value.shape)
        p.grad = torch.from_numpy(grad) if lib is torch else grad


@pytest.mark.parametrize("name", NAMES)
def test_a_torch_state_dict_resumes_in_chainrule(name):
    """Ten steps in PyTorch, its state_dict loaded into chainrule, ten more steps in each."""
    rng = np.random.default_rng(0)
    init = [rng.standard_normal((3, 2)), rng.standard_normal(4)]
    theirs = [torch.tensor(v, requires_grad=True) for v in init]
    topt = getattr(torch.optim, name)(theirs, **OPTIONS[name])
    for t in range(10):
        _quadratic(theirs, torch, t)
        topt.step()
    ours = [
        cr.tensor(p.detach().numpy().copy(), requires_grad=True, dtype="float64") for p in theirs
    ]
    opt = getattr(optim, name)(ours, lr=1.0)  # every option comes from the state dict
    opt.load_state_dict(topt.state_dict())
    assert opt.param_groups[0]["lr"] == OPTIONS[name]["lr"]
    for t in range(10, 20):
        _quadratic(theirs, torch, t)
        topt.step()
        _quadratic(ours, cr, t)
        opt.step()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: optim.NAdam(p, lr=-1.0), "NAdam: lr must be >= 0"),
        (lambda p: optim.NAdam(p, momentum_decay=-0.1), "NAdam: momentum_decay must be >= 0"),
        (lambda p: optim.NAdam(p, betas=(1.0, 0.9)), r"NAdam: betas\[0\] must be in \[0, 1\)"),
        (lambda p: optim.RAdam(p, eps=-1e-8), "RAdam: eps must be >= 0"),
        (lambda p: optim.RAdam(p, betas=(0.9,)), "RAdam: betas must be a pair"),
        (lambda p: optim.Adamax(p, weight_decay=-0.1), "Adamax: weight_decay must be >= 0"),
        (lambda p: optim.Adamax(p, betas=(0.9, 1.0)), r"Adamax: betas\[1\] must be in \[0, 1\)"),
    ],
)
def test_hyperparameters_are_checked_on_creation(make, match):
    with pytest.raises(ValueError, match=match):
        make([cr.tensor([1.0], requires_grad=True)])
