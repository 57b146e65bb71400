"""F.layer_norm, F.batch_norm, F.rms_norm and nn.RMSNorm against torch: values, gradients of
every differentiable input, running statistics, float32 and float64, second order, errors."""

import json

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F
from chainrule.nn.registry import module_from_config, module_to_config

torch = pytest.importorskip("torch")
tF = torch.nn.functional

TOL = {
    "float64": {"rtol": 1e-10, "atol": 1e-12},
    "float32": {"rtol": 2e-5, "atol": 1e-5},
}  # near-zero gradients of tiny groups


def _arrays(shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [None if s is None else rng.standard_normal(s) * 2.0 + 0.5 for s in shapes]


def _compare(ours_fn, theirs_fn, arrays, dtype="float64", grads=True):
    """Forward values and the gradient of every array given (None stays None) match torch."""
    tol = TOL[dtype]
    mine = [None if a is None else cr.tensor(a, dtype=dtype, requires_grad=grads) for a in arrays]
    tdtype = getattr(torch, dtype)
    theirs = [
        None if a is None else torch.tensor(a, dtype=tdtype, requires_grad=grads) for a in arrays
    ]
    out, expected = ours_fn(*mine), theirs_fn(*theirs)
    assert out.dtype == getattr(cr, dtype)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **tol)
    if not grads:
        return
    upstream = np.random.default_rng(9).standard_normal(tuple(expected.shape))
    (out * cr.tensor(upstream, dtype=dtype)).sum().backward()
    expected.backward(torch.tensor(upstream, dtype=tdtype))
    for m, t in zip(mine, theirs):
        if m is not None:
            np.testing.assert_allclose(m.grad.numpy(), t.grad.numpy(), **tol)


# ---- layer_norm ---------------------------------------------------------------------------------
LAYER_CASES = [  # input shape, normalized_shape, affine shapes
    ((4, 5), (5,), True),
    ((2, 3, 4), (3, 4), True),
    ((2, 3, 4), [2, 3, 4], False),
    ((7,), (7,), True),
    ((3, 1, 6), (6,), False),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape, normalized, affine", LAYER_CASES)
def test_layer_norm_matches_torch(shape, normalized, affine, dtype):
    param = tuple(normalized) if affine else None
    arrays = _arrays([shape, param, param])
    _compare(
        lambda x, w, b: F.layer_norm(x, normalized, w, b, eps=1e-4),
        lambda x, w, b: tF.layer_norm(x, normalized, w, b, eps=1e-4),
        arrays,
        dtype,
    )


def test_layer_norm_weight_only_and_bias_only():
    for keep in ("weight", "bias"):
        x, p = _arrays([(3, 4), (4,)])
        w, b = (p, None) if keep == "weight" else (None, p)
        _compare(
            lambda x, w, b: F.layer_norm(x, (4,), w, b),
            lambda x, w, b: tF.layer_norm(x, (4,), w, b),
            [x, w, b],
        )


def test_layer_norm_module_is_the_function():
    layer = nn.LayerNorm((3, 4), eps=1e-3, dtype="float64")
    layer.weight.data[...] = np.arange(12.0).reshape(3, 4)
    layer.bias.data[...] = -1.5
    (x,) = _arrays([(2, 3, 4)])
    expected = F.layer_norm(cr.tensor(x, dtype="float64"), (3, 4), layer.weight, layer.bias, 1e-3)
    np.testing.assert_array_equal(layer(x).detach().numpy(), expected.detach().numpy())


# ---- rms_norm and nn.RMSNorm --------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("eps", [None, 1e-3, 0.0])
@pytest.mark.parametrize("shape, normalized, affine", LAYER_CASES)
def test_rms_norm_matches_torch(shape, normalized, affine, eps, dtype):
    param = tuple(normalized) if affine else None
    arrays = _arrays([shape, param])
    _compare(
        lambda x, w: F.rms_norm(x, normalized, w, eps),
        lambda x, w: tF.rms_norm(x, normalized, w, eps),
        arrays,
        dtype,
    )


def test_rms_norm_default_eps_is_the_dtypes_machine_epsilon():
    # all zeros: x / sqrt(0 + eps) is 0 either way; a tiny value shows which eps was added
    for dtype in ("float32", "float64"):
        x = np.full((1, 2), 1e-5)
        ours = F.rms_norm(cr.tensor(x, dtype=dtype), (2,)).numpy()
        theirs = tF.rms_norm(torch.tensor(x, dtype=getattr(torch, dtype)), (2,)).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
        expected = 1e-5 / np.sqrt(1e-10 + np.finfo(dtype).eps)
        np.testing.assert_allclose(ours, expected, rtol=1e-5)


@pytest.mark.parametrize(
    "args, shape",
    [
        ("(4,)", (3, 4)),
        ("[2, 3], eps=1e-3", (5, 2, 3)),
        ("4, None, False", (2, 4)),
        ("4, 1e-2, True, 'cpu', dtype=None", (3, 4)),
    ],
)
def test_rms_norm_module_matches_torch(args, shape):
    ours, theirs = eval(f"nn.RMSNorm({args})"), eval(f"torch.nn.RMSNorm({args})")
    assert repr(ours) == repr(theirs)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    ours.double(), theirs.double()
    if ours.weight is not None:
        ours.weight.data[...] = np.linspace(0.5, 2.0, int(np.prod(ours.weight.shape))).reshape(
            ours.weight.shape
        )
        theirs.load_state_dict({"weight": torch.from_numpy(ours.weight.detach().numpy().copy())})
    (x,) = _arrays([shape])
    xo, xt = cr.tensor(x, dtype="float64", requires_grad=True), torch.tensor(x, requires_grad=True)
    out, expected = ours(xo), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL["float64"])
    upstream = np.random.default_rng(3).standard_normal(shape)
    (out * cr.tensor(upstream, dtype="float64")).sum().backward()
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **TOL["float64"])
    if ours.weight is not None:
        np.testing.assert_allclose(
            ours.weight.grad.numpy(), theirs.weight.grad.numpy(), **TOL["float64"]
        )


def test_rms_norm_module_saves_and_loads_its_architecture():
    model = nn.Sequential(nn.RMSNorm([2, 3], eps=1e-3), nn.RMSNorm(3, elementwise_affine=False))
    rebuilt = module_from_config(json.loads(json.dumps(module_to_config(model))))
    assert repr(rebuilt) == repr(model)
    assert list(rebuilt.state_dict()) == ["0.weight"]


def test_rms_norm_module_errors():
    with pytest.raises(ValueError, match="normalized_shape must be"):
        nn.RMSNorm("4")
    with pytest.raises(ValueError, match="eps must be a small positive number"):
        nn.RMSNorm(4, eps=-1.0)
    with pytest.raises(NotImplementedError, match="CPU only"):
        nn.RMSNorm(4, None, True, "cuda")
    with pytest.raises(cr.ShapeError, match=r"RMSNorm\(\(4,\)\) got input of shape \(2, 3\)"):
        nn.RMSNorm(4)(cr.ones(2, 3))
    with pytest.raises(cr.DTypeError, match="float32 parameters but got a float64"):
        nn.RMSNorm(3)(cr.ones(2, 3, dtype="float64"))


# ---- batch_norm ---------------------------------------------------------------------------------
BATCH_SHAPES = [(5, 3), (4, 3, 5), (2, 3, 4, 5), (2, 3, 2, 2, 3), (1, 3, 2)]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", BATCH_SHAPES)
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_training_matches_torch_and_updates_running_stats(shape, affine, dtype):
    c = shape[1]
    x, w, b = _arrays([shape, (c,) if affine else None, (c,) if affine else None])
    rng = np.random.default_rng(4)
    mean0, var0 = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    ours_stats = [cr.tensor(a, dtype=dtype) for a in (mean0, var0)]
    theirs_stats = [torch.tensor(a, dtype=getattr(torch, dtype)) for a in (mean0, var0)]
    _compare(
        lambda x, w, b: F.batch_norm(x, *ours_stats, w, b, training=True, momentum=0.3),
        lambda x, w, b: tF.batch_norm(x, *theirs_stats, w, b, training=True, momentum=0.3),
        [x, w, b],
        dtype,
    )
    for mine, theirs in zip(ours_stats, theirs_stats):
        np.testing.assert_allclose(mine.numpy(), theirs.numpy(), **TOL[dtype])
    assert not np.allclose(ours_stats[0].numpy(), mean0)  # they did move


@pytest.mark.parametrize("shape", BATCH_SHAPES)
def test_batch_norm_training_without_running_stats(shape):
    x, w, b = _arrays([shape, shape[1:2], shape[1:2]])
    _compare(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-3),
        lambda x, w, b: tF.batch_norm(x, None, None, w, b, True, 0.1, 1e-3),
        [x, w, b],
    )


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("shape", BATCH_SHAPES + [(1, 3)])
def test_batch_norm_evaluation_uses_the_running_stats(shape, dtype):
    c = shape[1]
    x, w, b, mean = _arrays([shape, (c,), (c,), (c,)])
    var = np.random.default_rng(5).uniform(0.5, 2.0, c)
    stats = [cr.tensor(a, dtype=dtype) for a in (mean, var)]
    tstats = [torch.tensor(a, dtype=getattr(torch, dtype)) for a in (mean, var)]
    _compare(
        lambda x, w, b: F.batch_norm(x, *stats, w, b),
        lambda x, w, b: tF.batch_norm(x, *tstats, w, b),
        [x, w, b],
        dtype,
    )
    np.testing.assert_array_equal(stats[0].numpy(), mean.astype(dtype))  # untouched


def test_batch_norm_matches_batchnorm_layers():
    (x,) = _arrays([(4, 3, 5, 2)])
    layer = nn.BatchNorm2d(3, momentum=0.2, dtype="float64")
    layer.weight.data[...] = [0.5, 1.0, 2.0]
    mean, var = np.zeros(3), np.ones(3)
    out = F.batch_norm(x, mean, var, layer.weight, layer.bias, True, 0.2)
    np.testing.assert_allclose(out.detach().numpy(), layer(x).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(mean, layer.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(var, layer.running_var.numpy(), rtol=1e-12)


def test_batch_norm_empty_batch_leaves_running_stats():
    mean, var = cr.zeros(3), cr.ones(3)
    out = F.batch_norm(cr.ones(0, 3), mean, var, training=True)
    assert out.shape == (0, 3)
    assert mean.numpy().tolist() == [0.0] * 3 and var.numpy().tolist() == [1.0] * 3


# ---- gradcheck and second order -----------------------------------------------------------------
def test_gradcheck_float64():
    x, w, b = (
        cr.tensor(a, dtype="float64", requires_grad=True)
        for a in _arrays([(3, 2, 4), (2, 4), (2, 4)])
    )
    assert cr.gradcheck(lambda x, w, b: F.layer_norm(x, (2, 4), w, b), x, w, b)
    assert cr.gradcheck(lambda x, w: F.rms_norm(x, (4,), w[0]), x, w)
    wc, bc = w[:, 0].detach().requires_grad_(), b[:, 0].detach().requires_grad_()
    assert cr.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, True), x, wc, bc)


@pytest.mark.parametrize("name", ["layer_norm", "rms_norm", "batch_norm"])
def test_second_order_matches_torch(name):
    def call(lib_f, x, w):
        if name == "batch_norm":
            return lib_f.batch_norm(x, None, None, w, None, True)
        return getattr(lib_f, name)(x, (3,), w)

    x, w = _arrays([(4, 3), (3,)])
    xo, wo = (cr.tensor(a, dtype="float64", requires_grad=True) for a in (x, w))
    xt, wt = (torch.tensor(a, requires_grad=True) for a in (x, w))
    (go,) = cr.autograd.grad((call(F, xo, wo) ** 3).sum(), xo, create_graph=True)
    (gt,) = torch.autograd.grad((call(tF, xt, wt) ** 3).sum(), xt, create_graph=True)
    np.testing.assert_allclose(go.detach().numpy(), gt.detach().numpy(), **TOL["float64"])
    (go * go).sum().backward()
    (gt * gt).sum().backward()
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(wo.grad.numpy(), wt.grad.numpy(), rtol=1e-9, atol=1e-10)


# ---- errors -------------------------------------------------------------------------------------
X = cr.ones(2, 3, 4)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: F.layer_norm(X, (5,)), cr.ShapeError, r"expected input with shape \[\*, 5\]"),
        (lambda: F.layer_norm(X, (1, 2, 3, 4)), RuntimeError, "but got input of size"),
        (lambda: F.layer_norm(X, ()), RuntimeError, "at least 1-dimensional"),
        (lambda: F.layer_norm(X, 4), TypeError, r"must be a tuple of ints.*\(4,\)"),
        (lambda: F.layer_norm(X, (4,), cr.ones(3)), RuntimeError, "weight to be of same shape"),
        (lambda: F.layer_norm(X, (4,), None, cr.ones(3)), RuntimeError, "bias to be of same"),
        (lambda: F.layer_norm(X, (4,), cr.ones(4, dtype="float64")), cr.DTypeError, "float64"),
        (lambda: F.rms_norm(X, (5,)), RuntimeError, r"expected input with shape \[\*5\]"),
        (lambda: F.rms_norm(X, (4,), cr.ones(3)), RuntimeError, "weight to be of same shape"),
        (lambda: F.rms_norm(X, []), RuntimeError, "at least 1-dimensional"),
        (lambda: F.batch_norm(X, None, None), RuntimeError, "running_mean must be defined"),
        (lambda: F.batch_norm(X, cr.zeros(3), None), RuntimeError, "running_var must be defined"),
        (lambda: F.batch_norm(X, cr.zeros(4), cr.ones(4)), RuntimeError, "3 elements"),
        (lambda: F.batch_norm(X, None, None, cr.ones(4), training=True), RuntimeError, "weight"),
        (lambda: F.batch_norm(X, None, None, None, cr.ones(2), True), RuntimeError, "bias"),
        (lambda: F.batch_norm(cr.ones(1, 3), None, None, training=True), ValueError, "more than 1"),
        (lambda: F.batch_norm(cr.ones(3), None, None, training=True), IndexError, "at least 2"),
        (lambda: F.batch_norm(X, None, None, training=True, eps=0), ValueError, "eps must be pos"),
        (lambda: F.batch_norm(X, None, None, training=True, momentum=None), TypeError, "momentum"),
        (lambda: F.batch_norm(X, cr.zeros(3), None, training=True), ValueError, "both be None"),
        (lambda: F.layer_norm(X, (4,), None, cr.ones(4, dtype="float64")), TypeError, "float64 p"),
        (
            lambda: F.batch_norm(X, cr.zeros(3), cr.ones(3, dtype="float64"), training=True),
            cr.DTypeError,
            "running_var is float64 but the input is float32",
        ),
    ],
)
def test_errors_name_the_problem(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_torch_raises_for_the_same_calls():
    xt = torch.ones(2, 3, 4)
    for call in (
        lambda: tF.layer_norm(xt, (5,)),
        lambda: tF.layer_norm(xt, 4),
        lambda: tF.rms_norm(xt, (5,)),
        lambda: tF.batch_norm(xt, None, None),
        lambda: tF.batch_norm(torch.ones(1, 3), None, None, training=True),
        lambda: tF.batch_norm(xt, None, None, training=True, eps=0),
        lambda: tF.batch_norm(xt, torch.zeros(3), None, training=True),
        lambda: tF.layer_norm(xt, (4,), None, torch.ones(4, dtype=torch.float64)),
        lambda: tF.batch_norm(xt, torch.zeros(3), torch.ones(3).double(), training=True),
    ):
        with pytest.raises((RuntimeError, TypeError, ValueError)):
            call()
