"""Loading optimizer state dicts that PyTorch loads: a checkpoint taken at the end of a
OneCycleLR schedule (whose linear anneal leaves a negative lr, as PyTorch's), and a state dict of
another optimizer class (a clear error naming what is missing, not a KeyError)."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim
from chainrule.optim import lr_scheduler

torch = pytest.importorskip("torch")


def _train(lib, opt, steps, start=0):
    """Steps ``start..steps-1`` of a fixed gradient sequence on the optimizer's one parameter."""
    p = opt.param_groups[0]["params"][0]
    for t in range(start, steps):
        g = np.cos(np.arange(3.0) + t)
        p.grad = torch.from_numpy(g) if lib is torch else g
        opt.step()


@pytest.mark.parametrize("three_phase", [False, True])
def test_checkpoint_at_the_end_of_a_linear_one_cycle_loads_and_resumes(three_phase):
    def build(lib):
        if lib is torch:
            w = torch.tensor(np.ones(3), requires_grad=True)
        else:
            w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
        opt = lib.optim.SGD([w], lr=0.1, momentum=0.9)
        sched = lib.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=1.0, total_steps=20, anneal_strategy="linear", three_phase=three_phase
        )
        return w, opt, sched

    results = {}
    for lib in (cr, torch):
        w, opt, sched = build(lib)
        for t in range(20):
            _train(lib, opt, t + 1, start=t)
            sched.step()
        results[lib] = opt.param_groups[0]["lr"]
        saved_opt, saved_sched = copy.deepcopy(opt.state_dict()), sched.state_dict()
        if lib is cr:
            w2, opt2, sched2 = build(cr)
            opt2.load_state_dict(saved_opt)  # raised "SGD: lr must be >= 0"
            sched2.load_state_dict(saved_sched)
            np.asarray(w2.data)[...] = np.asarray(w.data)
            _train(cr, opt, 23, start=20)
            _train(cr, opt2, 23, start=20)
            np.testing.assert_array_equal(np.asarray(w2.data), np.asarray(w.data))
    assert results[cr] < 0
    assert results[cr] == pytest.approx(results[torch], rel=1e-12)


def test_negative_lr_set_by_a_lambda_schedule_survives_a_round_trip():
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    opt = optim.Adam([w], lr=0.1)
    sched = lr_scheduler.LambdaLR(opt, lambda epoch: 1.0 - epoch)
    _train(cr, opt, 1)
    sched.step()
    sched.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(-0.1)
    again = optim.Adam([w], lr=0.1)
    again.load_state_dict(opt.state_dict())
    assert again.param_groups[0]["lr"] == opt.param_groups[0]["lr"]


def test_a_bad_lr_in_a_state_dict_is_still_refused():
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    saved = optim.SGD([w], lr=0.1).state_dict()
    saved["param_groups"][0]["lr"] = "fast"
    with pytest.raises(TypeError, match="lr must be a number"):
        optim.SGD([w], lr=0.1).load_state_dict(saved)


def test_state_dict_of_another_optimizer_is_refused_by_name():
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    sgd = optim.SGD([w], lr=0.1, momentum=0.9)
    _train(cr, sgd, 2)
    expected = r"Adam.load_state_dict: saved parameter group 0 has no 'betas', 'eps'.*another"
    with pytest.raises(ValueError, match=expected):
        optim.Adam([w]).load_state_dict(sgd.state_dict())  # was KeyError: 'eps'


def test_missing_on_off_options_take_the_defaults_as_pytorchs_setstate():
    """A state dict from an older PyTorch has no ``decoupled_weight_decay``: Adam loads it as
    False, AdamW keeps its own True (PyTorch's AdamW would silently turn into Adam)."""
    w = cr.tensor(np.ones(3), requires_grad=True, dtype="float64")
    t = torch.tensor(np.ones(3), requires_grad=True)
    torch_opt = torch.optim.Adam([t], lr=0.01, weight_decay=0.1)
    t.grad = torch.ones(3, dtype=torch.float64)
    torch_opt.step()
    saved = torch_opt.state_dict()
    for key in ("decoupled_weight_decay", "amsgrad", "maximize"):
        del saved["param_groups"][0][key]
    adam = optim.Adam([w], lr=0.01, weight_decay=0.1)
    adam.load_state_dict(saved)
    group = adam.param_groups[0]
    assert (group["decoupled_weight_decay"], group["amsgrad"], group["maximize"]) == (False,) * 3
    adamw = optim.AdamW([w], lr=0.01, weight_decay=0.1)
    adamw.load_state_dict(saved)
    assert adamw.param_groups[0]["decoupled_weight_decay"] is True
