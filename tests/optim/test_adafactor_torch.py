"""optim.Adafactor against torch.optim.Adafactor: parameters and state (row_var, col_var for
tensors of 2 or more dims, variance for vectors and scalars) after 40 steps of a noisy
quadratic, every option, float32, parameter groups, save and resume, PyTorch's own state
dict, and PyTorch's argument errors."""

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
    dict(lr=0.05, beta2_decay=-0.5),
    dict(lr=0.1, eps=(1e-4, 1e-2)),
    dict(lr=0.3, d=2.0),
    dict(lr=0.1, weight_decay=0.1),
    dict(lr=0.05, maximize=True),
    dict(lr=0.2, eps=(1e-6, 0.1), d=1.5, weight_decay=0.05, maximize=True, beta2_decay=-0.3),
]


@pytest.mark.parametrize("kwargs", CASES, ids=str)
def test_adafactor_matches_torch_float64(kwargs):
    ours = Run(cr, "Adafactor", kwargs, 40).step(40)
    theirs = Run(torch, "Adafactor", kwargs, 40).step(40)
    assert_runs_match(ours, theirs, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kwargs", [CASES[0], CASES[-1]], ids=str)
def test_adafactor_matches_torch_float32(kwargs):
    ours = Run(cr, "Adafactor", kwargs, 40, np.float32).step(40)
    theirs = Run(torch, "Adafactor", kwargs, 40, np.float32).step(40)
    assert_runs_match(ours, theirs, rtol=2e-4, atol=1e-5)


def test_adafactor_state_shapes_are_torchs():
    ours = Run(cr, "Adafactor", {}, 1).step(1)
    shapes = {
        i: {k: np.shape(v) for k, v in s.items()} for i, s in ours.opt.state_dict()["state"].items()
    }
    assert shapes[0] == {"step": (), "row_var": (4, 1), "col_var": (1, 3)}
    assert shapes[1] == {"step": (), "variance": (5,)}
    assert shapes[2] == {"step": (), "row_var": (2, 2, 1), "col_var": (2, 1, 3)}
    assert shapes[3] == {"step": (), "variance": ()}


def test_adafactor_parameter_groups_match_torch():
    options = [dict(lr=0.1, eps=(1e-5, 1e-3)), dict(weight_decay=0.1, d=1.2, maximize=True)]
    ours = Run(cr, "Adafactor", dict(lr=0.02), 30, group_options=options).step(30)
    theirs = Run(torch, "Adafactor", dict(lr=0.02), 30, group_options=options).step(30)
    assert_runs_match(ours, theirs, rtol=1e-12, atol=1e-14)


def test_adafactor_state_dict_resume_equals_uninterrupted():
    assert_resume_equals_uninterrupted("Adafactor", dict(lr=0.1, weight_decay=0.05))


def test_adafactor_continues_from_torch_state_dict():
    assert_torch_state_dict_continues(torch, "Adafactor", dict(lr=0.1))


def test_adafactor_load_refuses_a_row_var_of_the_wrong_shape():
    run = Run(cr, "Adafactor", {}, 1).step(1)
    saved = run.opt.state_dict()
    saved["state"][0]["row_var"] = np.zeros((3, 1))
    with pytest.raises(cr.ShapeError, match="'row_var' .* expected \\(4, 1\\)"):
        Run(cr, "Adafactor", {}, 1).opt.load_state_dict(saved)


def test_adafactor_float32_stays_float32_with_numpy_float64_hyperparameters():
    w = cr.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    f64 = np.float64
    opt = optim.Adafactor([w], lr=f64(0.1), eps=(f64(1e-3), f64(1e-3)), weight_decay=f64(0.1))
    for _ in range(3):
        w.grad = cr.tensor([[0.5, -0.25], [1.0, 2.0]])
        opt.step()
    assert w.array.dtype == np.float32
    assert {opt.state[w][k].dtype for k in ("row_var", "col_var")} == {np.dtype(np.float32)}


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(lr=-0.1),
        dict(beta2_decay=0.5),
        dict(eps=(-1e-3, 1e-3)),
        dict(eps=(None, -1.0)),
        dict(d=0.5),
        dict(weight_decay=-0.1),
    ],
    ids=str,
)
def test_adafactor_bad_arguments_raise_torch_error(kwargs):
    with pytest.raises(ValueError):
        torch.optim.Adafactor([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(ValueError, match="Adafactor: "):
        optim.Adafactor([cr.zeros(2, requires_grad=True)], **kwargs)
