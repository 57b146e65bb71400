"""optim.swa_utils (was missing: AttributeError) against torch.optim.swa_utils: SWA and EMA
averages of a trained model, with and without buffers, update_bn, and the SWALR schedule."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.optim import swa_utils

torch = pytest.importorskip("torch")

STEPS = 12


def _models():
    cr.manual_seed(0)
    ours = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4), cr.nn.Tanh(),
                            cr.nn.Linear(4, 1)).to(dtype=np.float64)  # fmt: skip
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Tanh(),
                                 torch.nn.Linear(4, 1)).double()  # fmt: skip
    theirs.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in ours.state_dict().items()})
    return ours, theirs


def _batches():
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((8, 3)), rng.standard_normal((8, 1))) for _ in range(STEPS)]


def _train_and_average(lib, model, averaged, with_sched=False):
    opt = lib.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    sched = lib.optim.swa_utils.SWALR(opt, swa_lr=0.02, anneal_epochs=5) if with_sched else None
    lrs = []
    for x, y in _batches():
        x, y = (
            (torch.from_numpy(x), torch.from_numpy(y))
            if lib is torch
            else (cr.tensor(x, dtype="float64"), cr.tensor(y, dtype="float64"))
        )
        opt.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        opt.step()
        averaged.update_parameters(model)
        if sched is not None:
            sched.step()
            lrs.append(sched.get_last_lr()[0])
    return lrs


def _state(module):
    return {k: np.array(v.detach().numpy() if hasattr(v, "detach") else v)
            for k, v in module.state_dict().items()}  # fmt: skip


def _averaged(lib, model, kind, use_buffers):
    utils = lib.optim.swa_utils
    kwargs = {"use_buffers": use_buffers}
    if kind == "ema_multi":
        kwargs["multi_avg_fn"] = utils.get_ema_multi_avg_fn(0.7)
    elif kind == "ema_multi_big_weight":
        kwargs["multi_avg_fn"] = utils.get_ema_multi_avg_fn(0.2)  # lerp's other formula
    elif kind == "ema":
        kwargs["avg_fn"] = utils.get_ema_avg_fn(0.7)
    elif kind == "swa_multi":
        kwargs["multi_avg_fn"] = utils.get_swa_multi_avg_fn()
    return utils.AveragedModel(model, **kwargs)


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize("kind", ["swa", "swa_multi", "ema", "ema_multi", "ema_multi_big_weight"])
def test_averaged_model_matches_torch(kind, use_buffers):
    ours, theirs = _models()
    if kind == "swa_multi" and use_buffers:  # an integer buffer (num_batches_tracked)
        with pytest.raises(RuntimeError, match="Integer division"):
            _train_and_average(torch, theirs, _averaged(torch, theirs, kind, use_buffers))
        with pytest.raises(RuntimeError, match="addcdiv"):  # PyTorch's class
            _train_and_average(cr, ours, _averaged(cr, ours, kind, use_buffers))
        return
    our_avg, their_avg = (
        _averaged(cr, ours, kind, use_buffers),
        _averaged(torch, theirs, kind, use_buffers),
    )
    _train_and_average(cr, ours, our_avg)
    _train_and_average(torch, theirs, their_avg)
    mine, expected = _state(our_avg), _state(their_avg)
    assert mine.keys() == expected.keys()
    for key in expected:
        assert mine[key].dtype == expected[key].dtype, key
        np.testing.assert_allclose(mine[key], expected[key], rtol=1e-12, atol=1e-14, err_msg=key)
    assert int(mine["n_averaged"]) == STEPS
    x = np.random.default_rng(1).standard_normal((5, 3))
    our_avg.eval(), their_avg.eval()
    np.testing.assert_allclose(
        our_avg(cr.tensor(x, dtype="float64")).detach().numpy(),
        their_avg(torch.from_numpy(x)).detach().numpy(),
        rtol=1e-12,
    )


def test_update_bn_matches_torch():
    ours, theirs = _models()
    our_avg, their_avg = _averaged(cr, ours, "swa", False), _averaged(torch, theirs, "swa", False)
    _train_and_average(cr, ours, our_avg)
    _train_and_average(torch, theirs, their_avg)
    our_avg.eval(), their_avg.eval()
    loader = [x for x, _ in _batches()[:5]]
    swa_utils.update_bn([(cr.tensor(x, dtype="float64"), 0) for x in loader], our_avg)
    torch.optim.swa_utils.update_bn([(torch.from_numpy(x), 0) for x in loader], their_avg)
    assert not our_avg.training and not their_avg.training
    mine, expected = _state(our_avg), _state(their_avg)
    for key in ("module.1.running_mean", "module.1.running_var", "module.1.num_batches_tracked"):
        np.testing.assert_allclose(mine[key], expected[key], rtol=1e-12, err_msg=key)
    assert our_avg.module[1].momentum == their_avg.module[1].momentum == 0.1


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 5])
def test_swalr_matches_torch(strategy, anneal_epochs):
    def lrs(lib, make):
        opt = lib.optim.SGD([{"params": [make()]}, {"params": [make()], "lr": 0.3}], lr=0.1)
        sched = lib.optim.swa_utils.SWALR(opt, [0.02, 0.05], anneal_epochs, strategy)
        out = [sched.get_last_lr()]
        for _ in range(10):
            opt.step()
            sched.step()
            out.append(sched.get_last_lr())
        return out, sched

    mine, sched = lrs(cr, lambda: cr.zeros(1, requires_grad=True))
    expected, _ = lrs(torch, lambda: torch.zeros(1, requires_grad=True))
    np.testing.assert_allclose(mine, expected, rtol=1e-13)
    again, _ = lrs(cr, lambda: cr.zeros(1, requires_grad=True))
    resumed = cr.optim.swa_utils.SWALR(sched.optimizer, 0.0)
    resumed.load_state_dict(sched.state_dict())
    assert resumed.get_last_lr() == again[-1]


def test_swalr_schedule_after_training_matches_torch():
    ours, theirs = _models()
    our_avg, their_avg = _averaged(cr, ours, "swa", False), _averaged(torch, theirs, "swa", False)
    np.testing.assert_allclose(_train_and_average(cr, ours, our_avg, with_sched=True),
                               _train_and_average(torch, theirs, their_avg, with_sched=True),
                               rtol=1e-13)  # fmt: skip


def test_bad_arguments_are_named():
    model = cr.nn.Linear(2, 1)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(model, avg_fn=swa_utils.get_swa_avg_fn(),
                                multi_avg_fn=swa_utils.get_swa_multi_avg_fn())  # fmt: skip
    with pytest.raises(ValueError, match="Invalid decay value"):
        swa_utils.get_ema_multi_avg_fn(1.5)
    opt = cr.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy"):
        swa_utils.SWALR(opt, 0.01, anneal_strategy="exp")
    with pytest.raises(ValueError, match="anneal_epochs"):
        swa_utils.SWALR(opt, 0.01, anneal_epochs=-1)
    with pytest.raises(ValueError, match="one value per parameter group"):
        swa_utils.SWALR(opt, [0.01, 0.02])
