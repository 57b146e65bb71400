"""Second derivatives through piecewise-linear ops (relu, hardtanh, leaky_relu, the shrinkages,
|x|, l1, max pooling, ...) against PyTorch.

Their local derivative is a constant mask, yet PyTorch's first derivative taken with
``create_graph=True`` requires grad and differentiates to zeros (its ``ThresholdBackward`` and
kin are nodes of the graph). chainrule's used to be a constant, so the second derivative raised
"does not require grad". Each case compares ``g.requires_grad``, the second derivative and, where
PyTorch defines one, the third's ``requires_grad`` and values.
"""

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as CF

torch = pytest.importorskip("torch")
TF = torch.nn.functional

_RNG = np.random.default_rng(5)
_X = _RNG.standard_normal((3, 4)) * 2
_X[0, 0] = 0.0  # a kink: PyTorch's choice of side there is part of what is compared
_Y = _RNG.standard_normal((3, 4))
_SAMPLES = [[[0.3, 0.6]]]


def _F(lib):
    return TF if lib is torch else CF


# name -> (function of (lib, *tensors), input arrays). The output is summed, so the seed of the
# first derivative is a constant: the case that raised.
CASES = {
    "relu": (lambda L, x: L.relu(x), [_X]),
    "relu_method": (lambda L, x: x.relu(), [_X]),
    "F.relu": (lambda L, x: _F(L).relu(x), [_X]),
    "nn.ReLU": (lambda L, x: L.nn.ReLU()(x), [_X]),
    "relu6": (lambda L, x: _F(L).relu6(x * 4), [_X]),
    "hardtanh": (lambda L, x: _F(L).hardtanh(x), [_X]),
    "hardtanh_bounds": (lambda L, x: _F(L).hardtanh(x * 3, -2.0, 0.5), [_X]),
    "leaky_relu": (lambda L, x: _F(L).leaky_relu(x, 0.1), [_X]),
    "leaky_relu_steep": (lambda L, x: _F(L).leaky_relu(x, 2.5), [_X]),
    "threshold": (lambda L, x: _F(L).threshold(x, 0.5, -1.0), [_X]),
    "softshrink": (lambda L, x: _F(L).softshrink(x, 0.5), [_X]),
    "hardshrink": (lambda L, x: _F(L).hardshrink(x, 0.5), [_X]),
    "rrelu_eval": (lambda L, x: _F(L).rrelu(x, 0.1, 0.3), [_X]),
    "prelu": (lambda L, x, w: _F(L).prelu(x, w[0, :1]), [_X, _Y]),
    "prelu_per_channel": (lambda L, x, w: _F(L).prelu(x, w[0, :4]), [_X, _Y]),
    "abs": (lambda L, x: L.abs(x), [_X]),
    "abs_method": (lambda L, x: x.abs(), [_X]),
    "l1_loss": (lambda L, x, y: _F(L).l1_loss(x, y), [_X, _Y]),
    "l1_loss_none": (lambda L, x, y: _F(L).l1_loss(x, y, reduction="none"), [_X, _Y]),
    "smooth_l1_beta0": (lambda L, x, y: _F(L).smooth_l1_loss(x, y, beta=0.0), [_X, _Y]),
    "norm_1": (lambda L, x: L.linalg.vector_norm(x, 1), [_X]),
    "norm_1_dim": (lambda L, x: L.linalg.vector_norm(x, 1, dim=1), [_X]),
    "norm_inf": (lambda L, x: L.linalg.vector_norm(x, float("inf")), [_X]),
    "norm_inf_dim": (lambda L, x: L.linalg.vector_norm(x, float("inf"), dim=0), [_X]),
    "pairwise_distance_1": (lambda L, x, y: _F(L).pairwise_distance(x, y, 1), [_X, _Y]),
    "max_pool1d": (lambda L, x: _F(L).max_pool1d(x, 2), [_X]),
    "max_pool1d_padded": (lambda L, x: _F(L).max_pool1d(x, 3, stride=1, padding=1), [_X]),
    "max_pool2d": (lambda L, x: _F(L).max_pool2d(x[None], 2), [_X]),
    "max_pool2d_indices": (
        lambda L, x: _F(L).max_pool2d(x[None], 2, return_indices=True)[0],
        [_X],
    ),
    "max_pool3d": (lambda L, x: _F(L).max_pool3d(x.reshape(1, 2, 2, 3), 2, stride=1), [_X]),
    "adaptive_max_pool1d": (lambda L, x: _F(L).adaptive_max_pool1d(x, 2), [_X]),
    "adaptive_max_pool2d": (lambda L, x: _F(L).adaptive_max_pool2d(x[None], 2), [_X]),
    "adaptive_max_pool3d": (lambda L, x: _F(L).adaptive_max_pool3d(x.reshape(1, 2, 2, 3), 1), [_X]),
    "fractional_max_pool2d": (
        lambda L, x: _F(L).fractional_max_pool2d(
            x[None, None], 2, output_size=(2, 2), _random_samples=L.tensor(_SAMPLES, dtype=x.dtype)
        ),
        [_X],
    ),
    "pow_1": (lambda L, x: x**1, [_X]),  # x⁰'s derivative: zeros, not 0·x⁻¹ (NaN at 0)
    "lp_pool1d_1": (lambda L, x: _F(L).lp_pool1d(x, 1, 2), [_X]),
    # the mask times a gradient that depends on x: PyTorch's nonzero values
    "x_times_relu": (lambda L, x: x * L.relu(x), [_X]),
    "relu_squared": (lambda L, x: L.relu(x) ** 2, [_X]),
    "relu_of_square": (lambda L, x: L.relu(x * x - 1), [_X]),
    "max_pool_of_product": (lambda L, x: _F(L).max_pool1d(L.relu(x) * x, 2), [_X]),
    "leaky_of_square": (lambda L, x: _F(L).leaky_relu(x * x - 1, 0.2) * x, [_X]),
}


def _dense(lib, value):
    if value is None:
        return None
    if lib is torch:  # PyTorch's ZeroTensor cannot become NumPy: add it to real zeros
        return (torch.zeros(value.shape, dtype=value.dtype) + value).detach().numpy()
    return value.detach().numpy()


def _derivatives(lib, fn, arrays, dtype):
    inputs = [lib.tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    firsts = lib.autograd.grad(fn(lib, *inputs).sum(), inputs, create_graph=True)
    total = sum((g * (i + 1.5)).sum() for i, g in enumerate(firsts))
    seconds = lib.autograd.grad(total, inputs, allow_unused=True, create_graph=True)
    return inputs, firsts, seconds


@pytest.mark.parametrize("name", list(CASES))
def test_second_derivative_matches_torch(name):
    fn, arrays = CASES[name]
    _, t_first, t_second = _derivatives(torch, fn, arrays, torch.float64)
    _, c_first, c_second = _derivatives(cr, fn, arrays, cr.float64)
    assert [g.requires_grad for g in c_first] == [g.requires_grad for g in t_first]
    for t, c in zip(t_first, c_first):
        np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy())
    for t, c in zip(t_second, c_second):
        assert (c is None) == (t is None)
        if t is not None:
            np.testing.assert_allclose(_dense(cr, c), _dense(torch, t), rtol=1e-12, atol=0)
            assert c.requires_grad == t.requires_grad  # PyTorch's relu's: True; the rest False


@pytest.mark.parametrize("name", ["relu", "x_times_relu", "relu_squared", "relu_of_square"])
def test_third_derivative_matches_torch(name):
    fn, arrays = CASES[name]
    t_inputs, _, t_second = _derivatives(torch, fn, arrays, torch.float64)
    c_inputs, _, c_second = _derivatives(cr, fn, arrays, cr.float64)
    (t_third,) = torch.autograd.grad(t_second[0].sum(), t_inputs)
    (c_third,) = cr.autograd.grad(c_second[0].sum(), c_inputs)
    np.testing.assert_array_equal(c_third.numpy(), t_third.numpy())


@pytest.mark.parametrize("name", ["relu", "hardtanh", "leaky_relu", "abs", "max_pool2d"])
def test_float32_second_derivative_is_zeros_of_its_dtype(name):
    fn, arrays = CASES[name]
    _, firsts, seconds = _derivatives(cr, fn, arrays, cr.float32)
    assert firsts[0].requires_grad and firsts[0].dtype == cr.float32
    assert seconds[0].dtype == cr.float32
    np.testing.assert_array_equal(seconds[0].detach().numpy(), np.zeros(_X.shape, np.float32))


# Where PyTorch has no double backward it raises; chainrule's is the derivative of a piecewise-
# linear function, zeros, and its first derivative requires grad as PyTorch's does.
NO_DOUBLE_BACKWARD_IN_TORCH = {
    "hardsigmoid": (lambda L, x: _F(L).hardsigmoid(x * 3), [_X]),
    "cdist_1": (lambda L, x, y: L.cdist(x, y, 1), [_X, _Y]),
    "cdist_inf": (lambda L, x, y: L.cdist(x, y, float("inf")), [_X, _Y]),
    "multi_margin": (lambda L, x: _F(L).multi_margin_loss(x, L.tensor([0, 1, 2])), [_X]),
}


@pytest.mark.parametrize("name", list(NO_DOUBLE_BACKWARD_IN_TORCH))
def test_second_derivative_is_zeros_where_torch_has_none(name):
    fn, arrays = NO_DOUBLE_BACKWARD_IN_TORCH[name]
    t_inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    t_first = torch.autograd.grad(fn(torch, *t_inputs).sum(), t_inputs, create_graph=True)
    _, c_first, c_second = _derivatives(cr, fn, arrays, cr.float64)
    assert [g.requires_grad for g in c_first] == [g.requires_grad for g in t_first]
    for t, c in zip(t_first, c_first):
        np.testing.assert_array_equal(c.detach().numpy(), t.detach().numpy())
    for c, a in zip(c_second, arrays):
        np.testing.assert_array_equal(c.detach().numpy(), np.zeros_like(a))


def test_the_reported_relu_example():
    x = cr.tensor(_X[0], dtype=cr.float64, requires_grad=True)
    (g,) = cr.autograd.grad(cr.relu(x).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = cr.autograd.grad(g.sum(), x)
    np.testing.assert_array_equal(h.numpy(), np.zeros(4))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "threshold", "abs", "max_pool1d"])
def test_no_nan_at_infinite_inputs(name):
    fn, _ = CASES[name]
    x = np.array([[-np.inf, -1.0, 0.0, np.inf]])
    t = torch.tensor(x, requires_grad=True)
    (t_first,) = torch.autograd.grad(fn(torch, t).sum(), t, create_graph=True)
    (t_second,) = torch.autograd.grad(t_first.sum(), t)
    c = cr.tensor(x, dtype=cr.float64, requires_grad=True)
    (c_first,) = cr.autograd.grad(fn(cr, c).sum(), c, create_graph=True)
    (c_second,) = cr.autograd.grad(c_first.sum(), c)
    np.testing.assert_array_equal(c_second.numpy(), np.zeros_like(x))
    np.testing.assert_array_equal(c_second.numpy(), _dense(torch, t_second))


def test_backward_through_a_first_derivative_adds_zeros():
    for lib in (torch, cr):
        x = lib.tensor(_X, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad(lib.relu(x).sum() + lib.abs(x).sum(), x, create_graph=True)
        g.sum().backward()
        np.testing.assert_array_equal(np.asarray(x.grad.numpy()), np.zeros_like(_X))


def test_prelu_cross_terms_at_zero_are_torchs():
    x0 = np.array([0.0, -0.0, -1.0, 1.0, np.nan])
    grads = {}
    for lib in (torch, cr):
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.25], dtype=x.dtype, requires_grad=True)
        gx, gw = lib.autograd.grad(_F(lib).prelu(x, w).sum(), (x, w), create_graph=True)
        grads[lib] = [
            _dense(lib, v)
            for v in lib.autograd.grad(gx.sum(), (x, w), retain_graph=True)
            + lib.autograd.grad(gw.sum(), (x, w), allow_unused=True)
        ]
    for c, t in zip(grads[cr], grads[torch]):
        np.testing.assert_array_equal(c, t)


def test_pow_zero_derivative_in_the_graph_is_zeros():
    x0 = np.array([0.0, 2.0, np.inf, np.nan])
    for lib in (torch, cr):
        x = lib.tensor(x0, dtype=lib.float64, requires_grad=True)
        (g,) = lib.autograd.grad((x**0).sum(), x, create_graph=True)
        np.testing.assert_array_equal(_dense(lib, g), np.zeros(4))


def test_gradient_penalty_through_a_relu_network_matches_torch():
    rng = np.random.default_rng(3)
    w1, w2 = rng.standard_normal((5, 3)), rng.standard_normal((1, 5))
    data = rng.standard_normal((4, 3))
    grads = {}
    for lib in (torch, cr):
        a = lib.tensor(w1, dtype=lib.float64, requires_grad=True)
        b = lib.tensor(w2, dtype=lib.float64, requires_grad=True)
        x = lib.tensor(data, dtype=lib.float64, requires_grad=True)
        out = _F(lib).linear(_F(lib).max_pool1d(_F(lib).relu(_F(lib).linear(x, a))[None], 1)[0], b)
        (gx,) = lib.autograd.grad(out.sum(), x, create_graph=True)
        penalty = (gx**2).sum()
        grads[lib] = [v.detach().numpy() for v in lib.autograd.grad(penalty, (a, b, x))]
    for c, t in zip(grads[cr], grads[torch]):
        np.testing.assert_allclose(c, t, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_hardsigmoid_local_derivative_is_torchs_float32_sixth(dtype):
    x0 = np.array([-4.0, -1.0, 0.5, 2.0, 3.5])
    t = torch.tensor(x0, dtype=getattr(torch, dtype), requires_grad=True)
    TF.hardsigmoid(t).sum().backward()
    c = cr.tensor(x0, dtype=dtype, requires_grad=True)
    CF.hardsigmoid(c).sum().backward()
    np.testing.assert_array_equal(c.grad.numpy(), t.grad.numpy())
    c = cr.tensor(x0, dtype=dtype, requires_grad=True)
    (g,) = cr.autograd.grad(CF.hardsigmoid(c).sum(), c, create_graph=True)
    np.testing.assert_array_equal(g.detach().numpy(), t.grad.numpy())


def test_relu_first_derivative_in_the_graph_passes_nan_as_backward_and_torch():
    v = np.array([np.nan, -1.0, -0.0, 0.0, 2.0, np.inf, -np.inf])
    t = torch.tensor(v, requires_grad=True)
    (t_first,) = torch.autograd.grad(torch.relu(t).sum(), t, create_graph=True)
    c = cr.tensor(v, dtype=cr.float64, requires_grad=True)
    (c_first,) = cr.autograd.grad(cr.relu(c).sum(), c, create_graph=True)
    plain = cr.tensor(v, dtype=cr.float64, requires_grad=True)
    cr.relu(plain).sum().backward()
    np.testing.assert_array_equal(c_first.detach().numpy(), t_first.detach().numpy())
    np.testing.assert_array_equal(c_first.detach().numpy(), plain.grad.numpy())


@pytest.mark.parametrize(
    "name",
    [
        "relu",
        "relu6",
        "hardtanh",
        "leaky_relu",
        "threshold",
        "softshrink",
        "hardshrink",
        "prelu",
        "abs",
        "l1_loss",
        "norm_1",
        "norm_inf",
    ],
)
def test_first_derivative_grad_fn_is_named_as_torchs(name):
    fn, arrays = CASES[name]
    names = {}
    for lib in (torch, cr):
        inputs = [lib.tensor(a, dtype=lib.float64, requires_grad=True) for a in arrays]
        (g, *_) = lib.autograd.grad(fn(lib, *inputs).sum(), inputs, create_graph=True)
        names[lib] = g.grad_fn.name()
    assert names[cr] == names[torch]


def test_pools_first_derivative_grad_fn_is_named_as_torchs():
    rng = np.random.default_rng(4)
    for shape, call in (
        ((2, 4, 6, 6), lambda F, t: F.max_pool2d(t, 2)),
        ((1, 2, 4, 6, 6), lambda F, t: F.max_pool3d(t, 2)),
        ((2, 4, 6, 6), lambda F, t: F.adaptive_max_pool2d(t, 3)),
        ((1, 2, 4, 6, 6), lambda F, t: F.adaptive_max_pool3d(t, 2)),
    ):
        x = rng.standard_normal(shape)
        names = []
        for lib, F in ((torch, TF), (cr, CF)):
            t = lib.tensor(x, dtype=lib.float64, requires_grad=True)
            (g,) = lib.autograd.grad(call(F, t).sum(), t, create_graph=True)
            names.append(g.grad_fn.name())
        assert names[0] == names[1]
