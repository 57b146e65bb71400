"""optim.ASGD against torch.optim.ASGD: parameters and state (eta, mu, ax, step) after 40
steps of a noisy quadratic, averaging switched on (small t0), weight decay, maximize, float32,
parameter groups, a changing lr, save and resume, PyTorch's own state dict, and errors."""

import numpy as np
import pytest
from optim_oracle import (
    Run,
    assert_resume_equals_uninterrupted,
    assert_runs_match,
    assert_torch_state_dict_continues,
)

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

CASES = [
    {},
    dict(lr=0.05),
    dict(lr=0.05, t0=5),  # averaging from step 6 on: mu < 1
    dict(lr=0.1, lambd=0.05, alpha=0.5, t0=0),
    dict(lr=0.05, weight_decay=0.1, t0=10),
    dict(lr=0.02, maximize=True, t0=3),
    dict(lr=0.05, weight_decay=0.2, maximize=True, t0=2, lambd=1e-2),
]


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_asgd_matches_torch_float64(kwargs):
    ours = Run(cr, "ASGD", kwargs, 40).step(40)
    theirs = Run(torch, "ASGD", kwargs, 40).step(40)
    assert_runs_match(ours, theirs, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("kwargs", CASES[2:4], ids=str)
def test_asgd_matches_torch_float32(kwargs):
    ours = Run(cr, "ASGD", kwargs, 40, np.float32).step(40)
    theirs = Run(torch, "ASGD", kwargs, 40, np.float32).step(40)
    assert_runs_match(ours, theirs, rtol=1e-5, atol=1e-6)


def test_asgd_eta_and_mu_are_pytorchs_float32_values():
    # PyTorch keeps eta and mu in float32 0-d tensors: lr=0.01 is stored as 0.0099999998, and
    # a float64 parameter moves by that, not by 0.01
    ours = Run(cr, "ASGD", dict(lr=0.01, t0=2), 6).step(6)
    theirs = Run(torch, "ASGD", dict(lr=0.01, t0=2), 6).step(6)
    for ours_state, theirs_state in zip(ours.opt.state.values(), theirs.opt.state.values()):
        assert ours_state["eta"] == theirs_state["eta"].item()
        assert ours_state["mu"] == theirs_state["mu"].item()
        assert isinstance(ours_state["eta"], float) and isinstance(ours_state["step"], int)
    assert_runs_match(ours, theirs, rtol=1e-14, atol=1e-16)


def test_asgd_default_dtype_float64_keeps_eta_in_float64_as_torch():
    cr.set_default_dtype("float64")
    torch.set_default_dtype(torch.float64)
    try:
        ours = Run(cr, "ASGD", dict(lr=0.01, t0=3), 20).step(20)
        theirs = Run(torch, "ASGD", dict(lr=0.01, t0=3), 20).step(20)
    finally:
        cr.set_default_dtype("float32")
        torch.set_default_dtype(torch.float32)
    assert ours.opt.state[ours.params[0]]["eta"] == theirs.opt.state[theirs.params[0]]["eta"]
    assert_runs_match(ours, theirs, rtol=1e-13, atol=1e-15)


def test_asgd_parameter_groups_match_torch():
    options = [dict(lr=0.1, t0=4), dict(lambd=0.01, alpha=0.6, weight_decay=0.05, maximize=True)]
    ours = Run(cr, "ASGD", dict(lr=0.02), 30, group_options=options).step(30)
    theirs = Run(torch, "ASGD", dict(lr=0.02), 30, group_options=options).step(30)
    assert_runs_match(ours, theirs, rtol=1e-13, atol=1e-15)


def test_asgd_follows_a_changing_lr_as_torch():
    def decay(run):
        for group in run.opt.param_groups:
            group["lr"] *= 0.9

    ours = Run(cr, "ASGD", dict(lr=0.1, t0=5), 20).step(20, after_step=decay)
    theirs = Run(torch, "ASGD", dict(lr=0.1, t0=5), 20).step(20, after_step=decay)
    assert_runs_match(ours, theirs, rtol=1e-13, atol=1e-15)


def test_asgd_state_dict_resume_equals_uninterrupted():
    assert_resume_equals_uninterrupted("ASGD", dict(lr=0.05, t0=5, weight_decay=0.1))


def test_asgd_continues_from_torch_state_dict():
    assert_torch_state_dict_continues(torch, "ASGD", dict(lr=0.05, t0=5))


def test_asgd_float32_stays_float32_with_numpy_float64_hyperparameters():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    f64 = np.float64
    opt = optim.ASGD([w], lr=f64(0.1), lambd=f64(1e-3), alpha=f64(0.75), t0=f64(1))
    for _ in range(4):
        w.grad = cr.tensor([0.5, -0.25])
        opt.step()
    assert w.array.dtype == np.float32 and opt.state[w]["ax"].dtype == np.float32


@pytest.mark.parametrize("kwargs", [dict(lr=-0.1), dict(weight_decay=-1e-3)], ids=str)
def test_asgd_bad_arguments_raise_torch_error(kwargs):
    with pytest.raises(ValueError):
        torch.optim.ASGD([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="ASGD: (lr|weight_decay) must be >= 0"):
        optim.ASGD([cr.zeros(2, requires_grad=True)], **kwargs)


def test_asgd_positional_arguments_in_torch_order():
    w = cr.zeros(2, requires_grad=True)
    opt = optim.ASGD([w], 0.1, 1e-3, 0.5, 10.0, 0.01, None, True)
    group = opt.param_groups[0]
    assert (group["lr"], group["lambd"], group["alpha"], group["t0"]) == (0.1, 1e-3, 0.5, 10.0)
    assert group["weight_decay"] == 0.01 and group["maximize"] is True
    with pytest.raises(NotImplementedError, match="capturable"):
        optim.ASGD([w], capturable=True)
