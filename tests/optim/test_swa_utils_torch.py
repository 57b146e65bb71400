"""optim.swa_utils against torch.optim.swa_utils: the averaged weights after a training run
(SWA, EMA by avg_fn and by multi_avg_fn, buffers averaged or copied), update_bn's statistics
and SWALR's learning rates."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.optim import swa_utils

torch = pytest.importorskip("torch")


def _pair(dtype, batchnorm=False):
    """The same small network in both libraries, from the same weights."""
    torch.manual_seed(0)
    layers = [torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)]
    if batchnorm:
        layers.insert(1, torch.nn.BatchNorm1d(4))
    theirs = torch.nn.Sequential(*layers).to(dtype)
    ours_layers = [nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)]
    if batchnorm:
        ours_layers.insert(1, nn.BatchNorm1d(4))
    ours = nn.Sequential(*ours_layers).to(getattr(cr, str(dtype).split(".")[-1]))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _train_and_average(ours, theirs, make_ours, make_theirs, steps=6, dtype=torch.float64):
    """Train our model; after each step PyTorch's copy takes the same weights and buffers, so
    both averagers see the same sequence and only the averaging arithmetic is compared."""
    avg_ours, avg_theirs = make_ours(ours), make_theirs(theirs)
    opt = optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        opt.zero_grad()
        x = cr.from_numpy(rng.standard_normal((8, 3)).astype(str(dtype).split(".")[-1]))
        (ours(x) ** 2).mean().backward()
        opt.step()
        theirs.load_state_dict(
            {k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()}
        )
        avg_ours.update_parameters(ours)
        avg_theirs.update_parameters(theirs)
    return avg_ours, avg_theirs


def _assert_states_equal(avg_ours, avg_theirs, **tol):
    ours = avg_ours.state_dict()
    theirs = {k: v.detach().numpy() for k, v in avg_theirs.state_dict().items()}
    assert list(ours) == list(theirs)
    for name in theirs:
        if tol:
            np.testing.assert_allclose(ours[name], theirs[name], err_msg=name, **tol)
        else:
            np.testing.assert_array_equal(ours[name], theirs[name], err_msg=name)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_swa_running_mean_equals_torch_bit_for_bit(dtype):
    ours, theirs = _pair(dtype, batchnorm=True)
    avg_ours, avg_theirs = _train_and_average(
        ours, theirs, swa_utils.AveragedModel, torch.optim.swa_utils.AveragedModel, dtype=dtype
    )
    assert int(avg_ours.n_averaged) == int(avg_theirs.n_averaged) == 6
    _assert_states_equal(avg_ours, avg_theirs)  # incl. the buffers copied from the model


@pytest.mark.parametrize("use_buffers", [False, True])
def test_ema_by_avg_fn_equals_torch_bit_for_bit(use_buffers):
    ours, theirs = _pair(torch.float64, batchnorm=True)
    avg_ours, avg_theirs = _train_and_average(
        ours,
        theirs,
        lambda m: swa_utils.AveragedModel(
            m, avg_fn=swa_utils.get_ema_avg_fn(0.9), use_buffers=use_buffers
        ),
        lambda m: torch.optim.swa_utils.AveragedModel(
            m, avg_fn=torch.optim.swa_utils.get_ema_avg_fn(0.9), use_buffers=use_buffers
        ),
    )
    _assert_states_equal(avg_ours, avg_theirs)


@pytest.mark.parametrize("use_buffers", [False, True])
@pytest.mark.parametrize(
    "rule", ["ema", "swa"], ids=["get_ema_multi_avg_fn", "get_swa_multi_avg_fn"]
)
def test_multi_avg_fn_rules_agree_with_torch(rule, use_buffers):
    # PyTorch's lerp fuses its multiply-add (one rounding), NumPy rounds twice: the last bit
    # may differ, so this compares to a few float64 ulps
    def make(lib_swa, m):
        fn = lib_swa.get_ema_multi_avg_fn(0.8) if rule == "ema" else lib_swa.get_swa_multi_avg_fn()
        return lib_swa.AveragedModel(m, multi_avg_fn=fn, use_buffers=use_buffers)

    ours, theirs = _pair(torch.float64, batchnorm=True)
    if rule == "swa" and use_buffers:  # an integer buffer (num_batches_tracked): both refuse
        for lib_swa, model in ((swa_utils, ours), (torch.optim.swa_utils, theirs)):
            avg = make(lib_swa, model)
            avg.update_parameters(model)
            with pytest.raises(RuntimeError, match="addcdiv"):
                avg.update_parameters(model)
        return
    avg_ours, avg_theirs = _train_and_average(
        ours,
        theirs,
        lambda m: make(swa_utils, m),
        lambda m: make(torch.optim.swa_utils, m),
    )
    _assert_states_equal(avg_ours, avg_theirs, rtol=1e-14, atol=1e-15)


def test_the_average_is_a_copy_that_runs_and_updates_in_place():
    model = nn.Linear(2, 1)
    avg = swa_utils.AveragedModel(model)
    assert avg.module is not model and avg.module.weight is not model.weight
    weight = avg.module.weight
    with cr.no_grad():
        model.weight += 1.0
    avg.update_parameters(model)
    assert avg.module.weight is weight  # written in place
    np.testing.assert_array_equal(weight.detach().numpy(), model.weight.detach().numpy())
    x = cr.ones(3, 2)
    np.testing.assert_array_equal(avg(x).detach().numpy(), model(x).detach().numpy())
    assert [name for name, _ in avg.named_buffers()] == ["n_averaged"]


def test_bad_arguments_raise_as_torch():
    model = nn.Linear(2, 1)
    with pytest.raises(AssertionError, match="Only one of avg_fn and multi_avg_fn"):
        swa_utils.AveragedModel(
            model,
            avg_fn=swa_utils.get_swa_avg_fn(),
            multi_avg_fn=swa_utils.get_swa_multi_avg_fn(),
        )
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="Invalid decay value"):
            swa_utils.get_ema_avg_fn(bad)
        with pytest.raises(ValueError, match="Invalid decay value"):
            torch.optim.swa_utils.get_ema_avg_fn(bad)
    avg = swa_utils.AveragedModel(model)
    with pytest.raises(ValueError, match="pass the model it was made from"):
        avg.update_parameters(nn.Linear(3, 1))
    with pytest.raises(TypeError, match="expected an nn.Module"):
        swa_utils.AveragedModel(lambda x: x)


def test_update_bn_equals_torch_and_restores_momentum_and_mode():
    ours, theirs = _pair(torch.float64, batchnorm=True)
    rng = np.random.default_rng(2)
    batches = [rng.standard_normal((5, 3)) for _ in range(4)]
    ours.eval()
    theirs.eval()
    swa_utils.update_bn([(cr.from_numpy(b), 0) for b in batches], ours)
    torch.optim.swa_utils.update_bn([(torch.tensor(b), 0) for b in batches], theirs)
    ours_state = ours.state_dict()
    for name, value in theirs.state_dict().items():
        np.testing.assert_allclose(ours_state[name], value.numpy(), rtol=1e-13, err_msg=name)
    assert ours[1].momentum == theirs[1].momentum == 0.1
    assert not ours.training and not theirs.training
    assert ours[0].weight.grad is None  # no graph was built


def test_update_bn_without_batchnorm_does_nothing():
    model = nn.Linear(2, 1)
    before = copy.deepcopy(model.state_dict())
    swa_utils.update_bn([cr.ones(1, 2)], model)
    np.testing.assert_array_equal(model.state_dict()["weight"], before["weight"])


@pytest.mark.parametrize("strategy", ["cos", "linear"])
@pytest.mark.parametrize("anneal_epochs", [0, 1, 3])
def test_swalr_learning_rates_equal_torch(strategy, anneal_epochs):
    def run(lib, lib_swa):
        p = lib.nn.Parameter(lib.zeros(1))
        q = lib.nn.Parameter(lib.zeros(1))
        opt = lib.optim.SGD([{"params": [p]}, {"params": [q], "lr": 0.5}], lr=1.0)
        sched = lib_swa.SWALR(
            opt, swa_lr=[0.05, 0.01], anneal_epochs=anneal_epochs, anneal_strategy=strategy
        )
        rates = [sched.get_last_lr()]
        for _ in range(6):
            opt.step()
            sched.step()
            rates.append(sched.get_last_lr())
        return rates

    ours = run(cr, swa_utils)
    theirs = run(torch, torch.optim.swa_utils)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)


def test_swalr_refuses_what_torch_refuses():
    opt = optim.SGD([nn.Parameter(cr.zeros(1))], lr=0.1)
    with pytest.raises(ValueError, match="anneal_strategy must be one of"):
        swa_utils.SWALR(opt, swa_lr=0.05, anneal_strategy="step")
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=-1)
    with pytest.raises(ValueError, match="anneal_epochs must be equal or greater than 0"):
        swa_utils.SWALR(opt, swa_lr=0.05, anneal_epochs=2.5)
