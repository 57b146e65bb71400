"""The Optimizer API: groups, zero_grad, skipping, closures, validation, save and load."""

import copy
import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim


def _params(dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    return [
        cr.tensor(rng.standard_normal((3, 4)), requires_grad=True, dtype=dtype),
        cr.tensor(rng.standard_normal(4), requires_grad=True, dtype=dtype),
    ]


def _feed(params, t, rng_seed=1):
    rng = np.random.default_rng(rng_seed + t)
    for p in params:
        p.grad = 0.5 * p.data + rng.standard_normal(p.shape).astype(p.data.dtype)


CONFIGS = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, initial_accumulator_value=0.1)),
    ("NAdam", dict(lr=0.01, weight_decay=0.01, momentum_decay=0.01)),
    ("RAdam", dict(lr=0.01, weight_decay=0.01, decoupled_weight_decay=True)),
    ("Adamax", dict(lr=0.01, weight_decay=0.01, maximize=True)),
    ("Adadelta", dict(lr=0.5, rho=0.8, weight_decay=0.01)),
]


def _to_json_and_back(state):
    return json.loads(json.dumps(state, default=lambda a: a.tolist()))


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[c[0] for c in CONFIGS])
@pytest.mark.parametrize("through_json", [False, True], ids=["dict", "json"])
def test_state_dict_round_trip_continues_exactly(name, kwargs, through_json):
    """Stop after 50 steps, save, rebuild, load, run 50 more: bit-identical to 100 in a row."""
    straight = _params()
    opt = getattr(optim, name)(straight, **kwargs)
    for t in range(100):
        _feed(straight, t)
        opt.step()

    first = _params()
    opt1 = getattr(optim, name)(first, **kwargs)
    for t in range(50):
        _feed(first, t)
        opt1.step()
    saved = opt1.state_dict()
    if through_json:
        saved = _to_json_and_back(saved)
    resumed = [cr.tensor(p.array.copy(), requires_grad=True, dtype="float64") for p in first]
    opt2 = getattr(optim, name)(resumed, lr=123.0)  # hyperparameters come from the state dict
    opt2.load_state_dict(saved)
    assert opt2.param_groups[0]["lr"] == kwargs["lr"]
    for t in range(50, 100):
        _feed(resumed, t)
        opt2.step()
    for a, b in zip(resumed, straight):
        np.testing.assert_array_equal(a.data, b.data)


def test_state_dict_is_plain_data_and_live_as_pytorchs():
    """Each parameter's entry is the optimizer's own state, as PyTorch's: later steps show in
    it (PyTorch's side: tests/torchcompat/test_parity_leftovers.py); a deepcopy stays put."""
    params = _params()
    opt = optim.Adam(params, lr=0.1)
    _feed(params, 0)
    opt.step()
    saved = opt.state_dict()
    snapshot = copy.deepcopy(saved)
    assert set(saved) == {"state", "param_groups"}
    assert saved["param_groups"][0]["params"] == [0, 1]
    assert set(saved["state"]) == {0, 1}
    exp_avg = saved["state"][0]["exp_avg"]
    assert type(exp_avg) is np.ndarray and saved["state"][0]["step"] == 1
    before = exp_avg.copy()
    _feed(params, 1)
    opt.step()
    assert saved["state"][0] is opt.state[params[0]] and saved["state"][0]["step"] == 2
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], opt.state[params[0]]["exp_avg"])
    assert not np.array_equal(saved["state"][0]["exp_avg"], before)
    np.testing.assert_array_equal(snapshot["state"][0]["exp_avg"], before)
    assert snapshot["state"][0]["step"] == 1


def test_load_state_dict_copies_and_casts_to_the_parameter_dtype():
    params64 = _params()
    opt64 = optim.SGD(params64, lr=0.1, momentum=0.9)
    _feed(params64, 0)
    opt64.step()
    saved = opt64.state_dict()
    params32 = _params(dtype="float32")
    opt32 = optim.SGD(params32, lr=0.1, momentum=0.9)
    opt32.load_state_dict(saved)
    buf = opt32.state[params32[0]]["momentum_buffer"]
    assert buf.dtype == np.float32
    assert buf is not saved["state"][0]["momentum_buffer"]


def test_load_state_dict_rejects_a_mismatch():
    params = _params()
    opt = optim.SGD(params, lr=0.1, momentum=0.9)
    _feed(params, 0)
    opt.step()
    saved = opt.state_dict()
    with pytest.raises(ValueError, match="parameter group 0 holds 1 parameters"):
        optim.SGD(params[:1], lr=0.1).load_state_dict(saved)
    two_groups = optim.SGD([{"params": params[:1]}, {"params": params[1:]}], lr=0.1)
    with pytest.raises(ValueError, match="1 parameter groups, this optimizer has 2"):
        two_groups.load_state_dict(saved)
    other = [cr.tensor(np.zeros((4, 3)), requires_grad=True), params[1]]
    with pytest.raises(cr.ShapeError, match=r"shape \(3, 4\), the parameter has shape \(4, 3\)"):
        optim.SGD(other, lr=0.1).load_state_dict(saved)
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})


def test_zero_grad_set_to_none_and_in_place():
    params = _params()
    opt = optim.SGD(params, lr=0.1)
    _feed(params, 0)
    opt.zero_grad()
    assert all(p.grad is None for p in params)
    _feed(params, 0)
    grads = [p.grad_array for p in params]
    opt.zero_grad(set_to_none=False)
    for p, g in zip(params, grads):
        assert p.grad_array is g and not p.grad.any()


def test_zero_grad_then_backward_accumulates_afresh():
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    for _ in range(2):
        opt.zero_grad()
        (w * w).sum().backward()
        np.testing.assert_allclose(w.grad, 2 * w.data)
        opt.step()


def test_parameters_without_grad_are_skipped():
    params = _params()
    for name, kwargs in CONFIGS:
        opt = getattr(optim, name)(params, **kwargs)
        before = [p.array.copy() for p in params]
        params[0].grad = np.ones_like(params[0].data)
        params[1].grad = None
        opt.step()
        assert not np.array_equal(params[0].data, before[0])
        np.testing.assert_array_equal(params[1].data, before[1])
        if name != "Adagrad":  # Adagrad creates its state up front, as PyTorch does
            assert params[1] not in opt.state
        else:
            assert opt.state[params[1]]["step"] == 0


def test_the_users_gradient_is_never_modified():
    params = _params()
    for name, kwargs in CONFIGS:
        opt = getattr(optim, name)(params, **kwargs)
        _feed(params, 0)
        grads = [p.grad_array.copy() for p in params]
        for _ in range(3):
            opt.step()
        for p, g in zip(params, grads):
            np.testing.assert_array_equal(p.grad, g)


def test_step_calls_the_closure_with_grad_enabled_and_returns_its_loss():
    w = cr.tensor([3.0], requires_grad=True)
    opt = optim.SGD([w], lr=0.25)

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with cr.no_grad():
        loss = opt.step(closure)
    assert loss.item() == 9.0
    assert w.item() == 1.5


def test_add_param_group_uses_defaults_and_its_own_options():
    a, b = _params()
    opt = optim.Adam([a], lr=0.01)
    opt.add_param_group({"params": b, "lr": 0.5})
    assert [g["lr"] for g in opt.param_groups] == [0.01, 0.5]
    assert opt.param_groups[1]["betas"] == (0.9, 0.999)
    assert opt.param_groups[1]["params"] == [b]
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})
    with pytest.raises(ValueError, match="Adam: lr must be >= 0, got -1"):
        opt.add_param_group({"params": [cr.tensor([1.0], requires_grad=True)], "lr": -1})


def test_learning_rate_can_be_changed_between_steps():
    w = cr.tensor([1.0], requires_grad=True, dtype="float64")
    opt = optim.SGD([w], lr=0.1)
    w.grad = np.array([1.0])
    opt.step()
    opt.param_groups[0]["lr"] = 0.5
    opt.step()
    np.testing.assert_allclose(w.data, [1.0 - 0.1 - 0.5])


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda p: optim.SGD(p, lr=-0.1), ValueError, r"^SGD: lr must be >= 0, got -0.1$"),
        (lambda p: optim.SGD(p, momentum=-0.5), ValueError, "SGD: momentum must be >= 0"),
        (lambda p: optim.SGD(p, weight_decay=-1), ValueError, "SGD: weight_decay must be >= 0"),
        (lambda p: optim.SGD(p, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
        (
            lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True),
            ValueError,
            "and dampening = 0",
        ),
        (lambda p: optim.SGD(p, lr="fast"), TypeError, "SGD: lr must be a number"),
        (lambda p: optim.Adam(p, lr=-1e-3), ValueError, "Adam: lr must be >= 0"),
        (lambda p: optim.Adam(p, eps=-1.0), ValueError, "Adam: eps must be >= 0"),
        (lambda p: optim.Adam(p, betas=(1.0, 0.9)), ValueError, r"betas\[0\] must be in \[0, 1\)"),
        (lambda p: optim.Adam(p, betas=(0.9, -0.1)), ValueError, r"betas\[1\] must be in"),
        (lambda p: optim.Adam(p, betas=(0.9,)), ValueError, "betas must be a pair"),
        (lambda p: optim.AdamW(p, weight_decay=-0.1), ValueError, "AdamW: weight_decay"),
        (lambda p: optim.RMSprop(p, alpha=-0.1), ValueError, "RMSprop: alpha must be >= 0"),
        (lambda p: optim.RMSprop(p, momentum=-1), ValueError, "RMSprop: momentum must be"),
        (lambda p: optim.RMSprop(p, eps=float("nan")), ValueError, "RMSprop: eps must be"),
        (lambda p: optim.Adagrad(p, lr_decay=-1), ValueError, "Adagrad: lr_decay must be"),
        (
            lambda p: optim.Adagrad(p, initial_accumulator_value=-1),
            ValueError,
            "Adagrad: initial_accumulator_value must be >= 0",
        ),
    ],
)
def test_hyperparameters_are_validated_on_creation(make, error, match):
    with pytest.raises(error, match=match):
        make(_params())


def test_bad_parameter_lists_are_rejected_clearly():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="SGD: got an empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="Adam: got an empty parameter list"):
        optim.Adam(iter([]))
    with pytest.raises(TypeError, match="got a single Tensor"):
        optim.SGD(w, lr=0.1)
    with pytest.raises(TypeError, match="not a set"):
        optim.SGD({w}, lr=0.1)
    with pytest.raises(TypeError, match="is a ndarray"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(cr.DTypeError, match="floating-point"):
        optim.SGD([cr.tensor([1, 2])], lr=0.1)
    with pytest.raises(ValueError, match="same parameter twice"):
        optim.SGD([w, w], lr=0.1)


def test_a_gradient_of_the_wrong_shape_is_reported():
    w = cr.tensor(np.zeros((2, 3)), requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    w.grad_array = np.zeros((3, 2), dtype=np.float32)  # as a faulty custom op might leave it
    with pytest.raises(cr.ShapeError, match=r"shape \(2, 3\) has a gradient of shape \(3, 2\)"):
        opt.step()


def test_float32_step_allocates_no_float64_and_keeps_the_array():
    for name, kwargs in CONFIGS:
        params = _params(dtype="float32")
        arrays = [p.array for p in params]
        opt = getattr(optim, name)(params, **kwargs)
        for t in range(3):
            _feed(params, t)
            opt.step()
        for p, a in zip(params, arrays):
            assert p.array is a and p.data.dtype == np.float32  # updated in place
        assert all(buf.dtype == np.float32 for buf in opt._workspace[np.dtype("float32")])


def test_repr_lists_the_groups():
    opt = optim.SGD(_params(), lr=0.1, momentum=0.9)
    text = repr(opt)
    assert text.startswith("SGD (") and "Parameter Group 0" in text and "momentum: 0.9" in text


def test_deepcopy_of_state_dict_is_loadable():
    params = _params()
    opt = optim.RMSprop(params, lr=0.01, centered=True)
    _feed(params, 0)
    opt.step()
    saved = copy.deepcopy(opt.state_dict())
    opt.load_state_dict(saved)
    assert opt.state[params[0]]["step"] == 1


@pytest.mark.parametrize("name, kwargs", CONFIGS, ids=[c[0] for c in CONFIGS])
def test_a_step_allocates_no_arrays_after_the_first(name, kwargs):
    """Updates run in place in preallocated buffers: a step's peak memory is a few small objects."""
    import tracemalloc

    rng = np.random.default_rng(0)
    params = [cr.tensor(rng.standard_normal(s), requires_grad=True) for s in [(256, 100), (256,)]]
    for p in params:
        p.grad = rng.standard_normal(p.shape).astype(np.float32)
    opt = getattr(optim, name)(params, **kwargs)
    opt.step()  # creates the state and the work buffers
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    param_bytes = params[0].data.nbytes  # 100 KB
    assert peak < param_bytes / 10, f"{name} step allocated {peak} bytes"


def test_a_float64_gradient_does_not_make_float32_state_float64():
    for name, kwargs in CONFIGS:
        w = cr.tensor(np.ones((2, 3)), requires_grad=True)  # float32
        opt = getattr(optim, name)([w], **kwargs)
        for _ in range(2):
            w.grad_array = np.full((2, 3), 0.5)  # float64, as a custom op might leave it
            opt.step()
        assert w.data.dtype == np.float32
        state = [v for v in opt.state[w].values() if isinstance(v, np.ndarray)]
        assert state and all(v.dtype == np.float32 for v in state)
