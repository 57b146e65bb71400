"""optim.Rprop against torch.optim.Rprop: parameters and state after 40 steps of a noisy
quadratic (float64 to the last bit or so, float32 too), parameter groups, save and resume,
PyTorch's own state dict, and PyTorch's argument errors."""

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
    dict(lr=0.1),
    dict(lr=0.05, etas=(0.3, 1.5)),
    dict(lr=0.2, step_sizes=(1e-3, 0.4)),
    dict(lr=0.05, maximize=True),
    dict(lr=0.05, etas=(0.7, 1.1), step_sizes=(0.01, 1.0), maximize=True),
]


@pytest.mark.parametrize("kwargs", CASES, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_rprop_matches_torch(kwargs, dtype):
    ours = Run(cr, "Rprop", kwargs, 40, dtype).step(40)
    theirs = Run(torch, "Rprop", kwargs, 40, dtype).step(40)
    # the update is elementwise and exact: the same bits in both libraries
    assert_runs_match(ours, theirs, rtol=0.0)


def test_rprop_parameter_groups_match_torch():
    options = [dict(lr=0.2, etas=(0.4, 1.3)), dict(step_sizes=(1e-4, 0.05), maximize=True)]
    ours = Run(cr, "Rprop", dict(lr=0.01), 30, group_options=options).step(30)
    theirs = Run(torch, "Rprop", dict(lr=0.01), 30, group_options=options).step(30)
    assert_runs_match(ours, theirs, rtol=0.0)


def test_rprop_lr_changed_after_the_first_step_is_ignored_as_in_torch():
    def halve(run):
        for group in run.opt.param_groups:
            group["lr"] *= 0.5

    ours = Run(cr, "Rprop", {}, 12).step(12, after_step=halve)
    theirs = Run(torch, "Rprop", {}, 12).step(12, after_step=halve)
    assert_runs_match(ours, theirs, rtol=0.0)


def test_rprop_state_dict_resume_equals_uninterrupted():
    assert_resume_equals_uninterrupted("Rprop", dict(lr=0.1, etas=(0.4, 1.3)))


def test_rprop_continues_from_torch_state_dict():
    assert_torch_state_dict_continues(torch, "Rprop", dict(lr=0.1))


def test_rprop_float32_stays_float32_with_numpy_float64_hyperparameters():
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    f64 = np.float64
    opt = optim.Rprop([w], lr=f64(0.1), etas=(f64(0.5), f64(1.2)), step_sizes=(f64(1e-6), f64(5)))
    for _ in range(3):
        w.grad = cr.tensor([0.5, -0.25])
        opt.step()
    assert w.array.dtype == np.float32
    assert {opt.state[w][k].dtype for k in ("prev", "step_size")} == {np.dtype(np.float32)}


@pytest.mark.parametrize(
    "kwargs",
    [dict(lr=-0.1), dict(etas=(1.0, 1.2)), dict(etas=(0.0, 1.2)), dict(etas=(0.5, 1.0))],
    ids=str,
)
def test_rprop_bad_arguments_raise_torch_error(kwargs):
    with pytest.raises(ValueError):
        torch.optim.Rprop([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="Rprop: (lr|etas)"):
        optim.Rprop([cr.zeros(2, requires_grad=True)], **kwargs)


def test_rprop_unknown_keyword_and_capturable():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'momentum'"):
        optim.Rprop([w], momentum=0.9)
    with pytest.raises(NotImplementedError, match="capturable"):
        optim.Rprop([w], capturable=True)
    assert optim.Rprop([w], foreach=True).defaults["lr"] == 1e-2
