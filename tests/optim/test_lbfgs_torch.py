"""optim.LBFGS against torch.optim.LBFGS, with and without the strong-Wolfe line search.

Both libraries start from the same float64 parameters. On the quadratic and the Rosenbrock
function both closures compute the loss and gradient with the same NumPy code, so only the
optimizers differ; the small MLP runs each library's own forward and backward. The loss each
step returns, the iteration and evaluation counts, the parameters and the whole state (d, t,
the history, ro, H_diag, ...) are compared after every step of 20.
"""

import copy

import numpy as np
import pytest

import chainrule as cr
from chainrule import optim

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(5)
# an ill-conditioned quadratic in 30 dimensions (eigenvalues 0.01 ... 10): L-BFGS is still far
# from its minimum after 20 iterations, so the runs compare real steps, not rounding noise
_Q = np.linalg.qr(RNG.standard_normal((30, 30)))[0]
A, B = _Q @ np.diag(np.logspace(-2, 1, 30)) @ _Q.T, RNG.standard_normal(30)
X0_QUAD = 2.0 * RNG.standard_normal(30)
X0_ROSEN = np.array([-1.2, 1.0, -0.5, 0.8, 1.5, 0.3])

# Parameters and losses agree to about 1e-13 (the libraries' dot products round differently);
# the state's vectors and scalars are differences and ratios of them (y = g − g_prev, 1/(y·s)),
# which lose a few more digits
PARAMS_TOL, STATE_TOL = 1e-11, 1e-9


def quadratic(x):
    return 0.5 * x @ A @ x - B @ x, A @ x - B


def rosenbrock(x):
    f = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
    g = np.zeros_like(x)
    g[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    g[1:] += 200 * (x[1:] - x[:-1] ** 2)
    return f, g


class NumpyObjective:
    """The objective over parameters (2,) and (n/2 - 1, 2), plus a (3,) one it does not use: that
    one never gets a gradient, and LBFGS counts its gradient as zero."""

    def __init__(self, lib, fun, x0, kwargs, dtype=np.float64):
        self.lib, self.fun, self.dtype = lib, fun, dtype
        parts = [x0[:2], x0[2:].reshape(-1, 2), np.ones(3)]
        if lib is cr:
            name = np.dtype(dtype).name
            self.params = [
                cr.tensor(v.astype(dtype), requires_grad=True, dtype=name) for v in parts
            ]
            self.opt = optim.LBFGS(self.params, **kwargs)
        else:
            self.params = [torch.tensor(v.astype(dtype), requires_grad=True) for v in parts]
            self.opt = torch.optim.LBFGS(self.params, **kwargs)

    def values(self):
        if self.lib is cr:
            return [p.array.copy() for p in self.params]
        return [p.detach().numpy().copy() for p in self.params]

    def closure(self):
        values = self.values()
        f, g = self.fun(np.concatenate([values[0], values[1].ravel()]).astype(np.float64))
        g = g.astype(self.dtype)
        grads = [g[:2].copy(), g[2:].reshape(-1, 2).copy()]
        for p, grad in zip(self.params, grads):
            p.grad = grad if self.lib is cr else torch.from_numpy(grad)
        return cr.tensor(f, dtype="float64") if self.lib is cr else torch.tensor(f)

    def step(self):
        return float(self.opt.step(self.closure))


def _plain(value):
    if hasattr(value, "detach"):
        value = value.detach().numpy()
    return np.asarray(value, dtype=np.float64)


def assert_normwise_close(actual, expected, tol, what=""):
    """max |actual − expected| <= tol · max |expected|: the error relative to the vector's size
    (one tiny element of a vector has no digits of its own to compare)."""
    actual, expected = _plain(actual), _plain(expected)
    assert actual.shape == expected.shape, what
    error = np.max(np.abs(actual - expected), initial=0.0)
    assert error <= tol * np.max(np.abs(expected), initial=0.0), (what, error)


def assert_lbfgs_state_matches(ours, theirs, tol):
    mine, reference = (
        ours.state[ours.param_groups[0]["params"][0]],
        theirs.state[theirs.param_groups[0]["params"][0]],
    )
    assert list(mine) == list(reference)
    for key, value in reference.items():
        if isinstance(value, list):
            assert len(mine[key]) == len(value), key
            assert [a is None for a in mine[key]] == [b is None for b in value], key
            if any(b is not None for b in value):
                known = [(a, b) for a, b in zip(mine[key], value) if b is not None]
                assert_normwise_close([a for a, _ in known], [b for _, b in known], tol, key)
        elif value is None or isinstance(value, int):
            assert mine[key] == value, key
        else:
            assert_normwise_close(mine[key], value, tol, key)


def run_side_by_side(
    fun, x0, kwargs, steps=20, dtype=np.float64, tol=PARAMS_TOL, state_tol=STATE_TOL
):
    ours = NumpyObjective(cr, fun, x0, kwargs, dtype)
    theirs = NumpyObjective(torch, fun, x0, kwargs, dtype)
    for _ in range(steps):
        assert ours.step() == pytest.approx(theirs.step(), rel=tol)
        for key in ("n_iter", "func_evals"):
            assert ours.opt.state[ours.params[0]][key] == theirs.opt.state[theirs.params[0]][key]
        for a, b in zip(ours.values(), theirs.values()):
            assert a.dtype == b.dtype
            assert_normwise_close(a, b, tol, "parameter")
        assert_lbfgs_state_matches(ours.opt, theirs.opt, state_tol)
    return ours


CONFIGS = [
    dict(max_iter=2),
    dict(max_iter=2, line_search_fn="strong_wolfe"),
    dict(lr=0.5, max_iter=2, history_size=4),
    dict(max_iter=1, history_size=3, line_search_fn="strong_wolfe"),
]


@pytest.mark.parametrize("kwargs", CONFIGS, ids=str)
@pytest.mark.parametrize("fun", [quadratic, rosenbrock], ids=lambda f: f.__name__)
def test_lbfgs_matches_torch(fun, kwargs):
    x0 = X0_QUAD if fun is quadratic else X0_ROSEN
    run_side_by_side(fun, x0, kwargs)


@pytest.mark.parametrize("fun", [quadratic, rosenbrock], ids=lambda f: f.__name__)
def test_lbfgs_line_search_cut_short_by_max_eval_matches_torch(fun):
    # max_eval=6 leaves the line search a few evaluations; it stops with the bracket it has.
    # (Few steps: with a two-pair history this iteration amplifies rounding ~4x per step.)
    kwargs = dict(lr=0.3, max_iter=5, max_eval=6, history_size=2, line_search_fn="strong_wolfe")
    x0 = X0_QUAD if fun is quadratic else X0_ROSEN
    ours = run_side_by_side(fun, x0, kwargs, steps=4)
    assert ours.opt.state[ours.params[0]]["func_evals"] == 24


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_default_options_match_torch(line_search_fn):
    # twenty iterations in one step, most of the way down the valley
    ours = run_side_by_side(rosenbrock, X0_ROSEN, dict(line_search_fn=line_search_fn), steps=1)
    assert ours.opt.state[ours.params[0]]["n_iter"] == 20


@pytest.mark.parametrize("kwargs", CONFIGS[:2], ids=str)
def test_lbfgs_float32_stays_float32_and_follows_torch(kwargs):
    ours = run_side_by_side(quadratic, X0_QUAD, kwargs, dtype=np.float32, tol=1e-5, state_tol=1e-3)
    state = ours.opt.state[ours.params[0]]
    assert {p.array.dtype for p in ours.params} == {np.dtype(np.float32)}
    arrays = [state["d"], state["prev_flat_grad"], *state["old_dirs"], *state["old_stps"]]
    assert {a.dtype for a in arrays} == {np.dtype(np.float32)}
    assert {type(r) for r in state["ro"]} == {np.float32}  # PyTorch's float32 0-d tensors


def _mlp(lib, seed=0):
    rng = np.random.default_rng(seed)
    shapes = [(8, 3), (8,), (1, 8), (1,)]
    values = [0.5 * rng.standard_normal(s) for s in shapes]
    if lib is cr:
        model = cr.nn.Sequential(cr.nn.Linear(3, 8), cr.nn.Tanh(), cr.nn.Linear(8, 1))
        model = model.to(cr.float64)
        for p, v in zip(model.parameters(), values):
            p.array[...] = v
        return model
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
    model = model.double()
    with torch.no_grad():
        for p, v in zip(model.parameters(), values):
            p.copy_(torch.from_numpy(v))
    return model


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_trains_an_mlp_with_closures_as_torch(line_search_fn):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    kwargs = dict(lr=0.5, max_iter=2, history_size=5, line_search_fn=line_search_fn)
    ours, theirs = _mlp(cr), _mlp(torch)
    opt, torch_opt = (
        optim.LBFGS(ours.parameters(), **kwargs),
        torch.optim.LBFGS(theirs.parameters(), **kwargs),
    )
    xs, ys = cr.tensor(x, dtype="float64"), cr.tensor(y, dtype="float64")
    txs, tys = torch.from_numpy(x), torch.from_numpy(y)

    def closure():
        opt.zero_grad()
        loss = cr.nn.functional.mse_loss(ours(xs), ys)
        loss.backward()
        return loss

    def torch_closure():
        torch_opt.zero_grad()
        loss = torch.nn.functional.mse_loss(theirs(txs), tys)
        loss.backward()
        return loss

    first = None
    for _ in range(20):
        loss, torch_loss = opt.step(closure), torch_opt.step(torch_closure)
        assert isinstance(loss, cr.Tensor)  # the closure's own first loss, as in PyTorch
        assert loss.item() == pytest.approx(torch_loss.item(), rel=1e-12)
        first = first if first is not None else loss.item()
    for p, q in zip(ours.parameters(), theirs.parameters()):
        assert_normwise_close(p.array, q.detach().numpy(), PARAMS_TOL, "parameter")
    assert_lbfgs_state_matches(opt, torch_opt, STATE_TOL)
    assert loss.item() < 0.5 * first


def test_lbfgs_state_dict_resume_equals_uninterrupted():
    kwargs = dict(max_iter=2, history_size=3, line_search_fn="strong_wolfe")
    straight = NumpyObjective(cr, rosenbrock, X0_ROSEN, kwargs)
    losses = [straight.step() for _ in range(10)]
    first = NumpyObjective(cr, rosenbrock, X0_ROSEN, kwargs)
    for _ in range(5):
        first.step()
    saved = copy.deepcopy(first.opt.state_dict())
    second = NumpyObjective(cr, rosenbrock, X0_ROSEN, dict(kwargs, lr=123.0))
    for p, v in zip(second.params, first.values()):
        p.array[...] = v
    second.opt.load_state_dict(saved)
    assert second.opt.param_groups[0]["lr"] == 1
    assert [second.step() for _ in range(5)] == losses[5:]
    for a, b in zip(straight.values(), second.values()):
        np.testing.assert_array_equal(a, b)


def test_lbfgs_continues_from_torch_state_dict():
    kwargs = dict(max_iter=2, history_size=3, line_search_fn="strong_wolfe")
    theirs = NumpyObjective(torch, rosenbrock, X0_ROSEN, kwargs)
    for _ in range(5):
        theirs.step()
    ours = NumpyObjective(cr, rosenbrock, X0_ROSEN, kwargs)
    for p, v in zip(ours.params, theirs.values()):
        p.array[...] = v
    ours.opt.load_state_dict(copy.deepcopy(theirs.opt.state_dict()))
    for _ in range(5):
        assert ours.step() == pytest.approx(theirs.step(), rel=PARAMS_TOL)
    for a, b in zip(ours.values(), theirs.values()):
        assert_normwise_close(a, b, PARAMS_TOL, "parameter")
    assert_lbfgs_state_matches(ours.opt, theirs.opt, STATE_TOL)


def test_lbfgs_load_refuses_a_history_of_the_wrong_length():
    run = NumpyObjective(cr, quadratic, X0_QUAD, dict(max_iter=3))
    run.step()
    saved = run.opt.state_dict()
    saved["state"][0]["d"] = np.zeros(5)
    with pytest.raises(cr.ShapeError, match="'d' has shape \\(5,\\); expected \\(33,\\)"):
        NumpyObjective(cr, quadratic, X0_QUAD, dict(max_iter=3)).opt.load_state_dict(saved)


def test_lbfgs_at_an_optimum_returns_after_one_evaluation_as_torch():
    x0 = np.linalg.solve(A, B)
    ours = NumpyObjective(cr, quadratic, x0, {})
    theirs = NumpyObjective(torch, quadratic, x0, {})
    assert ours.step() == theirs.step()
    assert ours.opt.state[ours.params[0]] == {"func_evals": 1, "n_iter": 0}
    assert dict(theirs.opt.state[theirs.params[0]]) == {"func_evals": 1, "n_iter": 0}
    for a, b in zip(ours.values(), theirs.values()):
        np.testing.assert_array_equal(a, b)


def test_lbfgs_step_without_closure_raises_type_error():
    w = cr.zeros(2, requires_grad=True)
    with pytest.raises(TypeError):
        torch.optim.LBFGS([torch.zeros(2, requires_grad=True)]).step()
    with pytest.raises(TypeError, match="LBFGS.step\\(\\) needs a closure"):
        optim.LBFGS([w]).step()


def test_lbfgs_refuses_parameter_groups_as_torch():
    groups = [
        {"params": [cr.zeros(2, requires_grad=True)]},
        {"params": [cr.zeros(1, requires_grad=True)]},
    ]
    torch_groups = [
        {"params": [torch.zeros(2, requires_grad=True)]},
        {"params": [torch.zeros(1, requires_grad=True)]},
    ]
    with pytest.raises(ValueError, match="per-parameter options"):
        torch.optim.LBFGS(torch_groups)
    with pytest.raises(ValueError, match="LBFGS doesn't support per-parameter options"):
        optim.LBFGS(groups)
    opt = optim.LBFGS([{"params": groups[0]["params"], "lr": 0.5}])  # one group is fine
    assert opt.param_groups[0]["lr"] == 0.5 and opt.param_groups[0]["max_eval"] == 25
    with pytest.raises(ValueError, match="per-parameter options"):
        opt.add_param_group(groups[1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(lr=-1.0), "lr must be >= 0"),
        (dict(line_search_fn="backtracking"), "line_search_fn must be None or 'strong_wolfe'"),
        (dict(history_size=0), "history_size must be >= 1"),
    ],
    ids=str,
)
def test_lbfgs_bad_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        optim.LBFGS([cr.zeros(2, requires_grad=True)], **kwargs)


def test_torch_lbfgs_errors_that_ours_mirror_or_bring_forward():
    with pytest.raises(ValueError):
        torch.optim.LBFGS([torch.zeros(2, requires_grad=True)], lr=-1.0)
    # PyTorch accepts an unknown line search and fails at the first step with a RuntimeError;
    # here the constructor refuses it (a ValueError, the error of a bad argument)
    w = torch.tensor([1.0], requires_grad=True)
    opt = torch.optim.LBFGS([w], line_search_fn="backtracking")

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(closure)
