"""optim.Adafactor (was NotSupportedError) against torch.optim.Adafactor: matrices (factored
second moment), a batch of matrices, vectors and a scalar, 40 steps, options, float32, resume."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

SHAPES = [(4, 3), (2, 3, 5), (6,), (1,)]
STEPS = 40


def _run(lib, kwargs, dtype="float64", resume_at=None):
    rng = np.random.default_rng(0)
    init = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    grads = [[rng.standard_normal(s).astype(dtype) for s in SHAPES] for _ in range(STEPS)]
    if lib is torch:
        params = [torch.tensor(v, requires_grad=True) for v in init]
    else:
        params = [cr.tensor(v, dtype=dtype, requires_grad=True) for v in init]
    opt = lib.optim.Adafactor(params, **kwargs)
    for t in range(STEPS):
        for i, (p, g) in enumerate(zip(params, grads[t])):
            g = None if (i == 2 and t % 7 == 3) else g
            p.grad = None if g is None else (torch.from_numpy(g) if lib is torch else g)
        opt.step()
        if resume_at == t:
            saved = copy.deepcopy(opt.state_dict())
            opt = optim.Adafactor(params, **kwargs)
            opt.load_state_dict(saved)
    return [p.detach().numpy().copy() for p in params], opt


CASES = [
    dict(),
    dict(lr=0.05, beta2_decay=-0.5, d=2.0),
    dict(lr=0.02, weight_decay=0.1, eps=(1e-20, 1e-2)),
    dict(lr=0.01, maximize=True),
]


@pytest.mark.parametrize("kwargs", CASES, ids=[str(c) for c in CASES])
def test_adafactor_matches_torch(kwargs):
    mine, opt = _run(cr, kwargs)
    expected, torch_opt = _run(torch, kwargs)
    for a, b in zip(mine, expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    pairs = zip(opt.param_groups[0]["params"], torch_opt.param_groups[0]["params"])
    for p_mine, p_torch in pairs:
        for key, value in torch_opt.state[p_torch].items():
            mine_value = np.asarray(opt.state[p_mine][key], dtype=float)
            np.testing.assert_allclose(mine_value, value.numpy(), rtol=1e-12, err_msg=key)


def test_adafactor_float32_and_resume():
    mine, _ = _run(cr, {}, dtype="float32")
    expected, _ = _run(torch, {}, dtype="float32")
    for a, b in zip(mine, expected):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    resumed, _ = _run(cr, {}, resume_at=17)
    for a, b in zip(resumed, _run(cr, {})[0]):
        np.testing.assert_array_equal(a, b)


def test_adafactor_refuses_what_torch_refuses():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="beta2_decay"):
        optim.Adafactor([w], beta2_decay=0.5)
    with pytest.raises(ValueError, match="d must be >= 1"):
        optim.Adafactor([w], d=0.5)
    with pytest.raises(ValueError, match="eps"):
        optim.Adafactor([w], eps=(-1.0, 1e-3))
