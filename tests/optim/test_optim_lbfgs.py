"""optim.LBFGS (was NotSupportedError) against torch.optim.LBFGS: fixed steps and strong-Wolfe
line search, a short history, several step() calls, float32, save and resume."""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")


def _data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 4))
    y = np.tanh(x @ rng.standard_normal((4, 1))) + 0.05 * rng.standard_normal((30, 1))
    return x, y


def _model(lib, dtype):
    rng = np.random.default_rng(1)
    w1, b1 = rng.standard_normal((4, 6)) * 0.5, np.zeros(6)
    w2, b2 = rng.standard_normal((6, 1)) * 0.5, np.zeros(1)
    if lib is torch:
        return [torch.tensor(v.astype(dtype), requires_grad=True) for v in (w1, b1, w2, b2)]
    return [cr.tensor(v, dtype=dtype, requires_grad=True) for v in (w1, b1, w2, b2)]


def _closure(lib, opt, params, dtype):
    x, y = (torch.from_numpy(a.astype(dtype)) if lib is torch else cr.tensor(a, dtype=dtype)
            for a in _data())  # fmt: skip
    w1, b1, w2, b2 = params

    def closure():
        opt.zero_grad()
        loss = (((x @ w1 + b1).tanh() @ w2 + b2 - y) ** 2).mean()
        loss.backward()
        return loss

    return closure


def _run(lib, kwargs, steps=3, dtype="float64"):
    params = _model(lib, dtype)
    opt = lib.optim.LBFGS(params, **kwargs)
    closure = _closure(lib, opt, params, dtype)
    losses = [opt.step(closure).item() for _ in range(steps)]
    state = opt.state[params[0]]
    return ([p.detach().numpy().copy() for p in params], losses,
            (state["func_evals"], state["n_iter"], len(state.get("old_dirs", []))))  # fmt: skip


CASES = [
    dict(),
    dict(lr=0.5, max_iter=7),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=3, max_iter=15),
    dict(line_search_fn="strong_wolfe", max_eval=6),
    dict(lr=0.8, history_size=2, tolerance_change=1e-5),
    dict(max_iter=8, max_eval=8 * 1.25),  # a float, as PyTorch's old default
]


@pytest.mark.parametrize("kwargs", CASES, ids=[str(c) for c in CASES])
def test_lbfgs_matches_torch(kwargs):
    """One step() (up to 20 iterations) to 1e-11; three to 1e-7, with the same counts of
    iterations, closure calls and kept pairs: the two forward passes differ in the last bit
    of the loss (4e-16), which forty quasi-Newton iterations amplify to ~1e-10."""
    mine, expected = _run(cr, kwargs, steps=1), _run(torch, kwargs, steps=1)
    for a, b in zip(mine[0], expected[0]):
        np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-13)
    assert mine[2] == expected[2]
    mine, expected = _run(cr, kwargs), _run(torch, kwargs)
    for a, b in zip(mine[0], expected[0]):
        np.testing.assert_allclose(a, b, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(mine[1], expected[1], rtol=1e-9)
    assert mine[2] == expected[2]


def test_lbfgs_float32_tracks_torch():
    kwargs = dict(line_search_fn="strong_wolfe", max_iter=10)
    mine, expected = _run(cr, kwargs, steps=1, dtype="float32"), _run(torch, kwargs, 1, "float32")
    for a, b in zip(mine[0], expected[0]):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-5)


def test_lbfgs_resumes_from_its_state_dict_exactly():
    kwargs = dict(line_search_fn="strong_wolfe", history_size=4, max_iter=5)
    params = _model(cr, "float64")
    opt = optim.LBFGS(params, **kwargs)
    closure = _closure(cr, opt, params, "float64")
    opt.step(closure)
    saved, values = copy.deepcopy(opt.state_dict()), [p.detach().numpy().copy() for p in params]
    opt.step(closure)
    twin = _model(cr, "float64")
    for p, v in zip(twin, values):
        np.asarray(p.data)[...] = v
    resumed = optim.LBFGS(twin, **kwargs)
    resumed.load_state_dict(saved)
    resumed.step(_closure(cr, resumed, twin, "float64"))
    for a, b in zip(params, twin):
        np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_lbfgs_refuses_what_torch_refuses():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [cr.zeros(1, requires_grad=True)]}])
    opt = optim.LBFGS([w])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.add_param_group({"params": [cr.zeros(1, requires_grad=True)]})
    with pytest.raises(TypeError, match="closure"):
        opt.step()  # as torch's: the closure is required
    with pytest.raises(TypeError, match="needs a closure"):
        opt.step(None)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([w], line_search_fn="armijo")


def test_explain_names_lbfgs_instead_of_a_missing_closure():
    model = cr.nn.Linear(2, 1)
    x, y = np.ones((1, 2), np.float32), np.ones((1, 1), np.float32)
    with pytest.raises(TypeError, match="LBFGS's step\\(closure\\)"):  # was: missing 'closure'
        cr.explain(model, x, y, cr.nn.MSELoss(), optimizer=optim.LBFGS(model.parameters()))


def test_fit_names_lbfgs_instead_of_a_missing_closure():
    model = cr.nn.Linear(2, 1)
    x, y = np.ones((4, 2), np.float32), np.ones((4, 1), np.float32)
    with pytest.raises(TypeError, match="fit: LBFGS needs step\\(closure\\)"):
        cr.fit(model, (x, y), cr.nn.MSELoss(), optim.LBFGS(model.parameters()), epochs=1)
