"""PyTorch-parity leftovers, each checked against PyTorch itself: ``F.linear``'s keyword
names, the ``weight=`` of ``mse_loss``/``l1_loss``/``huber_loss``, an optimizer's
``state_dict()`` (live entries, a PyTorch-saved state dict resuming here) and the gradient of
``var``/``std`` where the correction is at least the number of elements."""

import copy
import io
import warnings

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import optim

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _same(ours, theirs, rtol=1e-12, atol=1e-14):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    ours = np.asarray(ours.detach().numpy() if hasattr(ours, "detach") else ours)
    assert ours.shape == theirs.shape
    np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, equal_nan=True)


# ---- F.linear(input=..., weight=..., bias=...) ----------------------------------------------
@pytest.mark.parametrize(
    "form",
    [
        lambda f, x, w, b: f(input=x, weight=w, bias=b),
        lambda f, x, w, b: f(input=x, weight=w),
        lambda f, x, w, b: f(x, weight=w, bias=b),
        lambda f, x, w, b: f(x=x, weight=w, bias=b),  # PyTorch takes x= too
        lambda f, x, w, b: f(x, w, b),
        lambda f, x, w, b: f(weight=w, input=x),
    ],
)
def test_linear_takes_pytorchs_keyword_names(form):
    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal((4, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    cx, cw, cb = (cr.tensor(a, requires_grad=True, dtype="float64") for a in (x, w, b))
    theirs, ours = form(TF.linear, tx, tw, tb), form(F.linear, cx, cw, cb)
    _same(ours, theirs)
    theirs.sum().backward()
    ours.sum().backward()
    for c, t in ((cx, tx), (cw, tw)):
        _same(c.grad, t.grad)


@pytest.mark.parametrize(
    "form, message",
    [
        (lambda f, x, w: f(x, w, input=x), "multiple values for argument 'input'"),
        (lambda f, x, w: f(weight=w), "missing"),
        (lambda f, x, w: f(input=x), "missing"),
        (lambda f, x, w: f(x), "missing"),
    ],
)
def test_linear_keyword_misuse_is_pytorchs_type_error(form, message):
    x, w = np.ones((2, 3)), np.ones((4, 3))
    with pytest.raises(TypeError):
        form(TF.linear, torch.tensor(x), torch.tensor(w))
    with pytest.raises(TypeError, match=message):
        form(F.linear, cr.tensor(x), cr.tensor(w))


# ---- weight= of the regression losses --------------------------------------------------------
LOSSES = ("mse_loss", "l1_loss", "huber_loss")


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("shape", [(), (3,), (4, 3), (2, 3, 2)], ids=str)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_weighted_regression_losses_match_pytorch(name, shape, reduction):
    rng = np.random.default_rng(len(shape))
    x, y = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
    w = rng.uniform(0.0, 2.0, shape)
    tensors = [torch.tensor(a, requires_grad=True) for a in (x, y, w)]
    ours_in = [cr.tensor(a, requires_grad=True, dtype="float64") for a in (x, y, w)]
    theirs = getattr(TF, name)(*tensors[:2], reduction=reduction, weight=tensors[2])
    ours = getattr(F, name)(*ours_in[:2], reduction=reduction, weight=ours_in[2])
    _same(ours, theirs)
    scale = np.linspace(-1.0, 2.0, max(int(np.prod(theirs.shape)), 1)).reshape(theirs.shape)
    (theirs * torch.tensor(scale)).sum().backward()
    (ours * cr.tensor(scale, dtype="float64")).sum().backward()
    for c, t in zip(ours_in, tensors):  # input, target and weight
        _same(c.grad, t.grad)


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("weight_dtype", ["float32", "float64", "int64"])
def test_weighted_losses_promote_as_pytorch(name, weight_dtype):
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    w = rng.integers(0, 3, (2, 3)) if weight_dtype == "int64" else rng.uniform(0, 2, (2, 3))
    theirs = getattr(TF, name)(
        torch.tensor(x, dtype=torch.float32),
        torch.tensor(y, dtype=torch.float32),
        weight=torch.tensor(w, dtype=getattr(torch, weight_dtype)),
    )
    ours = getattr(F, name)(
        cr.tensor(x, dtype="float32"),
        cr.tensor(y, dtype="float32"),
        weight=cr.tensor(w, dtype=weight_dtype),
    )
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    _same(ours, theirs, rtol=1e-6, atol=1e-7)


def test_weight_takes_pytorchs_positions_and_legacy_flags():
    x, y, w = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.array([2.0, 0.5, 1.0])
    t, c = (lambda a: torch.tensor(a)), (lambda a: cr.tensor(a, dtype="float64"))
    _same(
        F.mse_loss(c(x), c(y), None, None, "sum", c(w)),
        TF.mse_loss(t(x), t(y), None, None, "sum", t(w)),
    )
    _same(F.huber_loss(c(x), c(y), "sum", 0.5, c(w)), TF.huber_loss(t(x), t(y), "sum", 0.5, t(w)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _same(
            F.l1_loss(c(x), c(y), False, None, weight=c(w)),
            TF.l1_loss(t(x), t(y), False, None, weight=t(w)),
        )


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("weight_shape", [(2,), (1, 3), (3, 1)], ids=str)
def test_a_weight_of_another_shape_is_pytorchs_value_error(name, weight_shape):
    with pytest.raises(ValueError, match="same size"):
        getattr(TF, name)(torch.ones(3), torch.zeros(3), weight=torch.ones(weight_shape))
    with pytest.raises(ValueError, match=r"Weights and input must have the same size"):
        getattr(F, name)(cr.ones(3), cr.zeros(3), weight=cr.ones(*weight_shape))


def test_smooth_l1_loss_has_no_weight_as_in_pytorch():
    with pytest.raises(TypeError):
        TF.smooth_l1_loss(torch.ones(3), torch.zeros(3), weight=torch.ones(3))
    with pytest.raises(TypeError, match="weight"):
        F.smooth_l1_loss(cr.ones(3), cr.zeros(3), weight=cr.ones(3))


# ---- optimizer.state_dict(): live entries, PyTorch's state dicts resume here ----------------
OPTIMIZERS = [
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01)),
    ("NAdam", dict(lr=0.01)),
    ("RAdam", dict(lr=0.01)),
    ("Adamax", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
]


def _grads(n):
    rng = np.random.default_rng(7)
    return [(rng.standard_normal((3, 2)), rng.standard_normal(2)) for _ in range(n)]


def _torch_opt(name, kwargs, values):
    params = [torch.nn.Parameter(torch.tensor(v)) for v in values]
    return params, getattr(torch.optim, name)(params, **kwargs)


def _our_opt(name, kwargs, values):
    params = [cr.tensor(v, requires_grad=True, dtype="float64") for v in values]
    return params, getattr(optim, name)(params, **kwargs)


def _step(params, opt, grads, lib):
    for p, g in zip(params, grads):
        p.grad = lib.tensor(g, dtype=lib.float64)
    opt.step()


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}{k}" for n, k in OPTIMIZERS])
def test_state_dict_entries_follow_later_steps_as_pytorchs(name, kwargs):
    """state_dict() returns each parameter's own state (PyTorch: the same dict object), so a
    step after it shows in it, in both; the groups are shallow copies in both."""
    start = [np.ones((3, 2)), np.full(2, 0.5)]
    results = []
    for lib, make in ((torch, _torch_opt), (cr, _our_opt)):
        params, opt = make(name, kwargs, start)
        grads = _grads(2)
        _step(params, opt, grads[0], lib)
        saved = opt.state_dict()
        first = {k: np.array(v) for k, v in saved["state"][0].items()}
        _step(params, opt, grads[1], lib)
        opt.param_groups[0]["lr"] = 123.0
        live = saved["state"][0]
        results.append(
            (
                live is opt.state[params[0]],
                sorted(k for k in first if not np.array_equal(first[k], np.array(live[k]))),
                saved["param_groups"][0]["lr"],
            )
        )
    assert results[1] == results[0]
    assert results[0][0] and results[0][1]  # the check itself sees something move


@pytest.mark.parametrize("name, kwargs", OPTIMIZERS, ids=[f"{n}{k}" for n, k in OPTIMIZERS])
def test_a_torch_saved_state_dict_resumes_here_as_in_pytorch(name, kwargs):
    """Three steps in PyTorch, its state dict through torch.save/torch.load, loaded here; three
    more steps each: the same parameters. Then ours, as tensors, loaded back into PyTorch."""
    grads = _grads(7)
    start = [np.linspace(-1, 1, 6).reshape(3, 2), np.array([0.3, -0.2])]
    t_params, t_opt = _torch_opt(name, kwargs, start)
    for g in grads[:3]:
        _step(t_params, t_opt, g, torch)
    buffer = io.BytesIO()
    torch.save(t_opt.state_dict(), buffer)
    buffer.seek(0)
    c_params, c_opt = _our_opt(name, kwargs, [p.detach().numpy().copy() for p in t_params])
    c_opt.load_state_dict(torch.load(buffer))
    for g in grads[3:6]:
        _step(t_params, t_opt, g, torch)
        _step(c_params, c_opt, g, cr)
    for c, t in zip(c_params, t_params):
        _same(c.detach(), t, rtol=1e-10, atol=1e-12)
    # and back: chainrule's state dict, as tensors, resumes in PyTorch
    ours = copy.deepcopy(c_opt.state_dict())
    ours["state"] = {
        i: {
            k: torch.tensor(v) if isinstance(v, (np.ndarray, int, float)) else v
            for k, v in s.items()
        }
        for i, s in ours["state"].items()
    }
    t2_params, t2_opt = _torch_opt(name, kwargs, [p.detach().numpy().copy() for p in c_params])
    t2_opt.load_state_dict(ours)
    _step(t2_params, t2_opt, grads[6], torch)
    _step(c_params, c_opt, grads[6], cr)
    for c, t in zip(c_params, t2_params):
        _same(c.detach(), t, rtol=1e-10, atol=1e-12)


# ---- var/std with correction >= n: inf/NaN values, PyTorch's gradients -----------------------
VARIANCE_CASES = [
    ((3,), None, 3),
    ((3,), None, 4),
    ((3,), 0, 3),
    ((3,), 0, 4),
    ((2, 3), 1, 3),
    ((2, 3), 1, 5),
    ((2, 3), (0, 1), 6),
    ((2, 3), (0, 1), 9),
    ((2, 3), None, 7),
    ((2, 3), 0, 2.5),
    ((1,), None, 1),
    ((2, 1), 1, 2),
    ((), None, 1),
    ((), 0, 2),
    ((0,), None, 0),
    ((2, 0), 1, 1),
]


def _variance(lib, fn, x, dim, correction, keepdim):
    out = getattr(lib, fn)(x, dim=dim, correction=correction, keepdim=keepdim)
    if isinstance(out, tuple):  # var_mean / std_mean: both outputs feed the loss
        return out, (out[0] * -2 + out[1] * 3).sum()
    return (out,), (out * -2).sum()


@pytest.mark.parametrize("shape, dim, correction", VARIANCE_CASES, ids=str)
@pytest.mark.parametrize("fn", ["var", "std", "var_mean", "std_mean"])
@pytest.mark.parametrize("keepdim", [False, True])
def test_variance_without_degrees_of_freedom_matches_pytorch(shape, dim, correction, fn, keepdim):
    data = np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) * 1.5 + 0.3
    data.flat[-1:] = -2.0  # not evenly spaced: no slice's mean is one of its elements by chance
    if shape == (2, 1):
        data[:] = 1.0  # a constant slice: 0/0
    t = torch.tensor(data, requires_grad=True)
    c = cr.tensor(data, requires_grad=True, dtype="float64")
    t_out, t_loss = _variance(torch, fn, t, dim, correction, keepdim)
    c_out, c_loss = _variance(cr, fn, c, dim, correction, keepdim)
    for ours, theirs in zip(c_out, t_out):
        _same(ours, theirs)
        assert ours.grad_fn.name() == theirs.grad_fn.name()
    t_loss.backward()
    with np.errstate(invalid="ignore"):
        c_loss.backward()
    _same(c.grad, t.grad)
    ours, theirs = np.asarray(c.grad), t.grad.numpy()
    numbers = ~np.isnan(theirs)  # -0 where PyTorch has -0 (a NaN's sign means nothing)
    assert np.array_equal(np.signbit(ours[numbers]), np.signbit(theirs[numbers]))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("dim", [None, 1])
def test_variance_without_degrees_of_freedom_second_order(dtype, dim):
    data = np.array([[1.0, 2.0, 4.0], [0.5, 0.5, 3.0]], dtype=dtype)
    t = torch.tensor(data, requires_grad=True)
    c = cr.tensor(data, requires_grad=True)
    weights = [1.0, -2.0] if dim == 1 else 1.0
    t_var = torch.var(t, dim=dim, correction=5 if dim == 1 else 7)
    c_var = cr.var(c, dim=dim, correction=5 if dim == 1 else 7)
    (t_first,) = torch.autograd.grad((t_var * torch.tensor(weights)).sum(), t, create_graph=True)
    (c_first,) = cr.autograd.grad((c_var * cr.tensor(weights)).sum(), c, create_graph=True)
    _same(c_first.detach(), t_first, rtol=1e-6)
    if dim == 1:  # finite first derivatives: their own gradient is finite too
        (t_first * t_first).sum().backward()
        (c_first * c_first).sum().backward()
        _same(c.grad, t.grad, rtol=1e-6)
