"""optim.Rprop and optim.ASGD (were NotSupportedError) against torch.optim, 60 steps on float64
parameters with seeded gradients (a parameter without one now and then, sign changes, zeros),
float32, two groups, and an exact resume through state_dict."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (5,), (1,)]
STEPS = 60


def _run(lib, name, kwargs, dtype="float64", groups=None, resume_at=None):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    if lib is torch:
        params = [torch.tensor(v, requires_grad=True) for v in init]
    else:
        params = [cr.tensor(v, dtype=dtype, requires_grad=True) for v in init]
    spec = params if groups is None else [{"params": params[:2]}, {"params": params[2:], **groups}]
    opt = getattr(lib.optim, name)(spec, **kwargs)
    for t in range(STEPS):
        for i, (p, g) in enumerate(zip(params, grads[t])):
            if i == 1 and t % 7 == 3:
                g = None
            elif t % 11 == 5:
                g = np.zeros_like(g)
            p.grad = None if g is None else (torch.from_numpy(g) if lib is torch else g)
        opt.step()
        if resume_at == t:
            saved = copy.deepcopy(opt.state_dict())
            opt = getattr(optim, name)(spec, **kwargs)
            opt.load_state_dict(saved)
    return [p.detach().numpy().copy() for p in params], opt


CASES = [
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.7), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.02, maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=10, weight_decay=0.1)),
    ("ASGD", dict(lr=0.02, t0=5, maximize=True)),
]


@pytest.mark.parametrize("name, kwargs", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_matches_torch(name, kwargs):
    mine, opt = _run(cr, name, kwargs)
    expected, torch_opt = _run(torch, name, kwargs)
    for a, b in zip(mine, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    for p_mine, p_torch in zip(opt.param_groups[0]["params"], torch_opt.param_groups[0]["params"]):
        for key, value in torch_opt.state[p_torch].items():
            mine_value = np.asarray(opt.state[p_mine][key], dtype=float)
            np.testing.assert_allclose(mine_value, value.numpy(), rtol=1e-12, err_msg=key)


@pytest.mark.parametrize("name, kwargs", CASES[1:2] + CASES[4:5], ids=["Rprop", "ASGD"])
def test_groups_float32_and_resume(name, kwargs):
    groups = {"lr": 0.01} if name == "ASGD" else {"lr": 0.3, "etas": (0.4, 1.5)}
    mine, _ = _run(cr, name, kwargs, groups=groups)
    expected, _ = _run(torch, name, kwargs, groups=groups)
    for a, b in zip(mine, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    mine32, _ = _run(cr, name, kwargs, dtype="float32")
    expected32, _ = _run(torch, name, kwargs, dtype="float32")
    for a, b in zip(mine32, expected32):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    resumed, _ = _run(cr, name, kwargs, resume_at=25)
    for a, b in zip(resumed, _run(cr, name, kwargs)[0]):
        np.testing.assert_array_equal(a, b)


def test_bad_arguments_are_refused_as_torch_refuses_them():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="etas"):
        optim.Rprop([w], etas=(1.2, 0.5))
    with pytest.raises(ValueError, match="lr must be >= 0"):
        optim.ASGD([w], lr=-1)
    with pytest.raises(NotImplementedError, match="capturable"):
        optim.ASGD([w], capturable=True)
    optim.Rprop([w], foreach=False)
