"""Pooling extras against PyTorch: adaptive max pooling, power-average (LP) pooling, max
unpooling and pdist. Values, indices, gradients (float32 and float64), ties and NaN, zero
windows, float64 finite differences, module reprs and saving, and PyTorch's errors."""

import json
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.nn.functional as F
from chainrule import nn
from chainrule.testing import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _compare(ours, theirs, x, dtype="float64", rtol=1e-6, atol=1e-7, grad_out_seed=1):
    """Forward (and indices, if a pair comes back) and the input's gradient, against torch."""
    x = np.asarray(x, dtype)
    a = cr.tensor(x, requires_grad=True, dtype=dtype)
    t = torch.tensor(x, requires_grad=True)
    out, expected = ours(a), theirs(t)
    if isinstance(expected, tuple):
        (out, indices), (expected, expected_indices) = out, expected
        assert indices.dtype == np.int64
        np.testing.assert_array_equal(np.asarray(indices), expected_indices.numpy())
    assert out.shape == tuple(expected.shape) and out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(
        np.asarray(out), expected.detach().numpy(), rtol=rtol, atol=atol, equal_nan=True
    )
    if expected.numel() == 0:
        return
    weights = np.random.default_rng(grad_out_seed).standard_normal(expected.shape).astype(dtype)
    (out * cr.tensor(weights)).sum().backward()
    (expected * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(
        np.asarray(a.grad), t.grad.numpy(), rtol=rtol * 10, atol=atol * 10, equal_nan=True
    )


def _data(shape, seed=0, ties=False):
    x = np.random.default_rng(seed).standard_normal(shape)
    return x.round(0) if ties else x  # rounding makes many equal values: tie rules matter


# ---- adaptive max pooling -----------------------------------------------------------------------
ADAPTIVE = [
    ("1d", (2, 3, 10), 4),
    ("1d_unbatched", (3, 7), (3,)),
    ("1d_grow", (2, 2, 3), 5),
    ("2d", (2, 3, 9, 7), (4, 3)),
    ("2d_none", (2, 3, 9, 7), (4, None)),
    ("2d_grow", (1, 2, 5, 5), 7),
    ("2d_unbatched", (3, 6, 5), 2),
    ("3d", (1, 2, 5, 6, 7), 3),
    ("3d_mixed", (2, 3, 7, 5, 6), (2, None, 4)),
    ("3d_unbatched", (2, 5, 6, 7), (3, 2, 5)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("name, shape, size", ADAPTIVE, ids=[c[0] for c in ADAPTIVE])
def test_adaptive_max_pool_matches_torch(name, shape, size, ties, dtype):
    fn = f"adaptive_max_pool{name[0]}d"
    _compare(
        lambda x: getattr(F, fn)(x, size, return_indices=True),
        lambda t: getattr(TF, fn)(t, size, return_indices=True),
        _data(shape, ties=ties),
        dtype,
    )
    _compare(lambda x: getattr(F, fn)(x, size), lambda t: getattr(TF, fn)(t, size), _data(shape))


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_adaptive_max_pool_with_indices_always_returns_the_pair(dims):
    x = _data((2, 3, *[5] * dims), ties=True)
    fn = f"adaptive_max_pool{dims}d_with_indices"
    _compare(lambda a: getattr(F, fn)(a, 3), lambda t: getattr(TF, fn)(t, 3), x)


def test_adaptive_max_pool_ties_nan_and_minus_infinity_pick_torchs_element():
    # ties: the first maximum; NaN: the last NaN; a window of -inf: its first cell
    nan, inf = math.nan, math.inf
    rows = [[1.0, 3, 3, 1, 3], [1.0, nan, 3, nan, 2], [-inf, -inf, -inf, -inf, -inf]]
    x = np.array([rows])
    for size in (1, 2, 3):
        _compare(
            lambda a, size=size: F.adaptive_max_pool1d(a, size, return_indices=True),
            lambda t, size=size: TF.adaptive_max_pool1d(t, size, return_indices=True),
            x,
        )


def test_adaptive_max_pool_zero_output_size_is_empty():
    x = _data((3, 6, 6))
    out, indices = F.adaptive_max_pool2d(cr.tensor(x, dtype="float64"), (0, 2), return_indices=True)
    assert (
        out.shape == indices.shape == tuple(TF.adaptive_max_pool2d(torch.tensor(x), (0, 2)).shape)
    )


def test_adaptive_max_pool_indices_feed_max_unpool():
    x = _data((2, 3, 8, 6))
    out, indices = F.adaptive_max_pool2d(cr.tensor(x, dtype="float64"), (4, 3), return_indices=True)
    back = F.max_unpool2d(out, indices, 2)
    t_out, t_indices = TF.adaptive_max_pool2d(torch.tensor(x), (4, 3), return_indices=True)
    np.testing.assert_array_equal(np.asarray(back), TF.max_unpool2d(t_out, t_indices, 2).numpy())


@pytest.mark.parametrize(
    "fn, shape, size",
    [
        (F.adaptive_max_pool1d, (2, 3, 7), 3),
        (F.adaptive_max_pool2d, (2, 2, 5, 6), (3, 4)),
        (F.adaptive_max_pool3d, (1, 2, 4, 5, 3), (2, 3, 2)),
    ],
)
def test_adaptive_max_pool_finite_differences(fn, shape, size):
    x = cr.tensor(_data(shape, seed=3), requires_grad=True, dtype="float64")
    assert gradcheck(lambda t: fn(t, size), x)
    assert gradgradcheck(lambda t: fn(t, size), x)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: F.adaptive_max_pool2d(cr.ones(4, 4), 2), ValueError, r"\(N, C, H, W\)"),
        (lambda: F.adaptive_max_pool1d(cr.ones(1, 2, 3, 4), 2), RuntimeError, r"\(N, C, L\)"),
        (lambda: F.adaptive_max_pool3d(cr.ones(2, 3, 4), 2), RuntimeError, r"\(N, C, D, H, W\)"),
        (lambda: F.adaptive_max_pool2d(cr.ones(1, 0, 3, 3), 2), RuntimeError, "non-zero size"),
        (lambda: F.adaptive_max_pool2d(cr.ones(1, 2, 0, 3), 2), RuntimeError, "non-zero size"),
        (lambda: F.adaptive_max_pool2d(cr.ones(1, 2, 3, 3), (2, 2, 2)), ValueError, "tuple of 2"),
        (lambda: F.adaptive_max_pool2d(cr.ones(1, 2, 3, 3), -1), ValueError, "non-negative"),
        (lambda: F.adaptive_max_pool1d(cr.ones(1, 2, 3), None), ValueError, "non-negative ints,"),
        (
            lambda: F.adaptive_max_pool2d(cr.tensor(np.ones((1, 2, 3, 3), int)), 2),
            TypeError,
            "float",
        ),
    ],
)
def test_adaptive_max_pool_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_adaptive_max_pool_empty_batch_is_allowed_as_in_torch():
    out = F.adaptive_max_pool2d(cr.ones(0, 2, 4, 4), 2)
    assert out.shape == tuple(TF.adaptive_max_pool2d(torch.ones(0, 2, 4, 4), 2).shape)


# ---- LP pooling ---------------------------------------------------------------------------------
LP = [
    ("1d", (2, 3, 9), dict(norm_type=2, kernel_size=3, stride=2, ceil_mode=True)),
    ("1d", (3, 8), dict(norm_type=1.5, kernel_size=2)),
    ("2d", (2, 3, 7, 6), dict(norm_type=2, kernel_size=3, stride=2, ceil_mode=True)),
    ("2d", (2, 3, 6, 6), dict(norm_type=3, kernel_size=(2, 3))),
    ("2d", (2, 2, 5, 5), dict(norm_type=1, kernel_size=2, stride=1)),
    ("2d", (2, 2, 5, 5), dict(norm_type=math.inf, kernel_size=2, stride=1)),
    ("2d", (2, 2, 5, 5), dict(norm_type=-math.inf, kernel_size=2, ceil_mode=True)),
    ("2d", (3, 5, 5), dict(norm_type=2.5, kernel_size=2)),
    ("2d", (2, 2, 5, 5), dict(norm_type=-1, kernel_size=2, stride=1)),
    ("2d", (2, 2, 5, 5), dict(norm_type=-2.5, kernel_size=(2, 3), stride=(1, 2))),
    ("3d", (1, 2, 5, 6, 7), dict(norm_type=2, kernel_size=2, stride=1)),
    (
        "3d",
        (2, 5, 6, 7),
        dict(norm_type=1, kernel_size=(1, 2, 3), stride=(1, 2, 2), ceil_mode=True),
    ),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dims, shape, options", LP, ids=[f"{c[0]}-{i}" for i, c in enumerate(LP)])
def test_lp_pool_matches_torch(dims, shape, options, dtype):
    x = np.abs(_data(shape))
    x[..., :2] = 0  # whole windows of zeros: PyTorch's gradient there is 0
    fn = f"lp_pool{dims}"
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else {}
    _compare(
        lambda a: getattr(F, fn)(a, **options),
        lambda t: getattr(TF, fn)(t, **options),
        x,
        dtype,
        **tol,
    )


def test_lp_pool_negative_inputs_and_odd_powers_match_torch():
    x = _data((2, 2, 6, 6), seed=5)
    for p in (1, 2, 3):  # odd p: a negative window sum has no real root (NaN, as PyTorch)
        _compare(lambda a, p=p: F.lp_pool2d(a, p, 2), lambda t, p=p: TF.lp_pool2d(t, p, 2), x)


def test_lp_pool_zero_window_gradient_is_zero_not_nan():
    x = cr.zeros(1, 1, 4, 4, dtype="float64", requires_grad=True)
    F.lp_pool2d(x, 2, 2).sum().backward()
    np.testing.assert_array_equal(np.asarray(x.grad), np.zeros((1, 1, 4, 4)))


def test_lp_pool_finite_differences():
    x = cr.tensor(np.abs(_data((2, 2, 5, 6), seed=7)) + 0.1, requires_grad=True, dtype="float64")
    assert gradcheck(lambda t: F.lp_pool2d(t, 2, (2, 3), 1, True), x)
    assert gradgradcheck(lambda t: F.lp_pool2d(t, 3, 2), x)
    y = cr.tensor(np.abs(_data((2, 3, 7), seed=8)) + 0.1, requires_grad=True, dtype="float64")
    assert gradcheck(lambda t: F.lp_pool1d(t, 1.5, 3, 2), y)
    z = cr.tensor(np.abs(_data((1, 2, 4, 4, 5), seed=9)) + 0.1, requires_grad=True, dtype="float64")
    assert gradcheck(lambda t: F.lp_pool3d(t, 2, 2), z)


def test_lp_pool_errors():
    x = cr.ones(1, 2, 4, 4)
    with pytest.raises(ZeroDivisionError):
        TF.lp_pool2d(torch.ones(1, 2, 4, 4), 0, 2)
    with pytest.raises(ZeroDivisionError, match="norm_type 0"):
        F.lp_pool2d(x, 0, 2)
    with pytest.raises(RuntimeError, match="smaller than the kernel"):
        F.lp_pool2d(x, 2, 5)
    with pytest.raises(ValueError, match="kernel_size"):
        F.lp_pool2d(x, 2, (2, 2, 2))
    with pytest.raises(TypeError, match="norm_type"):
        F.lp_pool2d(x, "2", 2)


# ---- max unpooling ------------------------------------------------------------------------------
UNPOOL = [
    (1, (2, 3, 9), dict(kernel_size=3, stride=2, padding=1), True),
    (1, (3, 8), dict(kernel_size=2), False),
    (2, (2, 3, 7, 6), dict(kernel_size=3, stride=2, padding=1), True),
    (2, (3, 6, 6), dict(kernel_size=2), False),
    (2, (1, 2, 6, 5), dict(kernel_size=2, stride=1), False),  # overlapping: repeated indices
    (3, (1, 2, 5, 6, 7), dict(kernel_size=2, stride=1), False),
    (3, (2, 5, 6, 7), dict(kernel_size=(1, 2, 3), stride=(1, 2, 2), padding=(0, 1, 1)), True),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dims, shape, options, sized", UNPOOL, ids=[str(i) for i in range(7)])
def test_max_unpool_inverts_max_pool_as_torch(dims, shape, options, sized, dtype):
    x = _data(shape, ties=True).astype(dtype)
    pooled, indices = getattr(F, f"max_pool{dims}d")(
        cr.tensor(x, dtype=dtype), return_indices=True, **options
    )
    t_pooled, t_indices = getattr(TF, f"max_pool{dims}d")(
        torch.tensor(x), return_indices=True, **options
    )
    np.testing.assert_array_equal(np.asarray(indices), t_indices.numpy())  # PyTorch's format
    unpool_options = dict(options, output_size=shape[-dims:] if sized else None)
    fn = f"max_unpool{dims}d"
    _compare(
        lambda a: getattr(F, fn)(a, indices, **unpool_options),
        lambda t: getattr(TF, fn)(t, t_indices, **unpool_options),
        np.asarray(pooled),
        dtype,
    )


def test_max_unpool_output_size_with_batch_and_channels_and_finite_differences():
    x = _data((1, 2, 5, 5))
    out, indices = F.max_pool2d(cr.tensor(x, dtype="float64"), 2, return_indices=True)
    t_out, t_indices = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    ours = F.max_unpool2d(out, indices, 2, output_size=(1, 2, 5, 5))
    np.testing.assert_array_equal(
        np.asarray(ours), TF.max_unpool2d(t_out, t_indices, 2, output_size=(1, 2, 5, 5)).numpy()
    )
    values = cr.tensor(np.asarray(out), requires_grad=True, dtype="float64")
    assert gradcheck(lambda v: F.max_unpool2d(v, indices, 2, output_size=[5, 5]), values)
    assert gradgradcheck(lambda v: F.max_unpool2d(v, indices, 2, output_size=(5, 5)), values)


def test_max_unpool_repeated_index_keeps_the_later_value_and_reads_its_gradient_back():
    x = np.arange(1, 9, dtype=np.float64).reshape(1, 2, 2, 2)
    indices = np.array([[[[0, 0], [0, 3]], [[5, 5], [5, 5]]]])
    _compare(
        lambda a: F.max_unpool2d(a, cr.tensor(indices), 2),
        lambda t: TF.max_unpool2d(t, torch.tensor(indices), 2),
        x,
    )


def test_max_unpool_errors_as_torch():
    out, indices = F.max_pool2d(cr.tensor(_data((1, 2, 4, 4))), 2, return_indices=True)
    with pytest.raises(RuntimeError, match="shape of indices"):
        F.max_unpool2d(out, indices[..., :1], 2)
    with pytest.raises(
        RuntimeError, match=r"invalid max index: 1\d\d \(output volumes are of size 4x4\)"
    ):
        F.max_unpool2d(out, indices + 100, 2)
    with pytest.raises(RuntimeError, match="invalid max index: -"):
        F.max_unpool2d(out, indices - 100, 2)
    with pytest.raises(RuntimeError, match="int64"):
        F.max_unpool2d(out, indices.astype("int32"), 2)
    with pytest.raises(ValueError, match=r'invalid output_size "\(6, 6\)" \(dim 0 must be '):
        F.max_unpool2d(out, indices, 2, output_size=(6, 6))
    with pytest.raises(ValueError, match="2 or 4 elements, but it has a length of '1'"):
        F.max_unpool2d(out, indices, 2, output_size=(5,))
    with pytest.raises(RuntimeError, match="3d or 4d"):
        F.max_unpool2d(out[0, 0], indices[0, 0], 2)
    with pytest.raises(ValueError, match="non-negative"):
        F.max_unpool2d(out, indices, 0, stride=0, padding=1)
    with pytest.raises(TypeError, match="floating-point"):
        F.max_unpool2d(out.astype("int64"), indices, 2)


# ---- pdist --------------------------------------------------------------------------------------
PDIST_P = [0, 0.5, 1, 1.5, 2, 3, 4.5, math.inf]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("p", PDIST_P)
def test_pdist_matches_torch_with_repeated_rows_and_ties(p, dtype):
    x = _data((6, 4), ties=True)
    x[3] = x[1]  # a zero distance
    x[4, :2] = x[0, :2]  # zero differences inside a pair
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == "float32" else {}
    _compare(lambda a: F.pdist(a, p), lambda t: TF.pdist(t, p), x, dtype, **tol)
    _compare(lambda a: F.pdist(a, p), lambda t: TF.pdist(t, p), _data((5, 3)), dtype, **tol)


def test_pdist_small_inputs_and_default_p():
    for shape in ((1, 3), (0, 3), (4, 1), (3, 0)):
        x = _data(shape)
        assert F.pdist(cr.tensor(x, dtype="float64")).shape == tuple(
            TF.pdist(torch.tensor(x)).shape
        )
    _compare(F.pdist, TF.pdist, _data((7, 5)))


@pytest.mark.parametrize("p", [1, 1.5, 2, 3])
def test_pdist_finite_differences(p):
    x = cr.tensor(_data((5, 3), seed=11), requires_grad=True, dtype="float64")
    assert gradcheck(lambda t: F.pdist(t, p), x)


def test_pdist_errors_as_torch():
    with pytest.raises(RuntimeError, match="only supports 2D tensors, got: 3D"):
        F.pdist(cr.ones(2, 3, 4))
    for p in (-1, math.nan):
        with pytest.raises(RuntimeError, match="non-negative p values"):
            F.pdist(cr.ones(3, 3), p)
    with pytest.raises(RuntimeError, match="floating-point"):
        F.pdist(cr.tensor(np.ones((3, 3), int)))
    x = cr.ones(3, 3, dtype="float64", requires_grad=True)
    (grad,) = cr.autograd.grad(F.pdist(x).sum(), x, create_graph=True)
    assert grad.requires_grad  # create_graph=True works, as in PyTorch ...
    np.testing.assert_array_equal(np.asarray(grad), np.zeros((3, 3)))
    with pytest.raises(NotImplementedError, match="_pdist_backward"):  # ... but not twice
        grad.sum().backward()


# ---- modules ------------------------------------------------------------------------------------
MODULES = [
    ("AdaptiveMaxPool1d", (3,), (2, 4, 10)),
    ("AdaptiveMaxPool1d", (3, True), (2, 4, 10)),
    ("AdaptiveMaxPool2d", ((2, None),), (2, 3, 9, 7)),
    ("AdaptiveMaxPool3d", (3,), (1, 2, 5, 6, 7)),
    ("LPPool1d", (1.5, 3, 2), (2, 4, 11)),
    ("LPPool2d", (2, 3), (1, 3, 8, 8)),
    ("LPPool3d", (2, (1, 2, 3), None, True), (1, 2, 5, 6, 7)),
    ("LPPool3d", (math.inf, 2), (1, 2, 4, 4, 4)),
]


@pytest.mark.parametrize("name, args, shape", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch_repr_and_output(name, args, shape):
    ours, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
    assert repr(ours) == repr(theirs)
    x = np.abs(_data(shape))
    _compare(ours, theirs, x)


@pytest.mark.parametrize("dims, args", [(1, (2,)), (2, (2, None, 1)), (3, ((1, 2, 3), 2))])
def test_max_unpool_modules_match_torch(dims, args):
    ours, theirs = (
        getattr(nn, f"MaxUnpool{dims}d")(*args),
        getattr(torch.nn, f"MaxUnpool{dims}d")(*args),
    )
    assert repr(ours) == repr(theirs)
    shape = (1, 2, *[6] * dims)
    pool = getattr(nn, f"MaxPool{dims}d")(
        ours.kernel_size, ours.stride, ours.padding, return_indices=True
    )
    t_pool = getattr(torch.nn, f"MaxPool{dims}d")(
        ours.kernel_size, ours.stride, ours.padding, return_indices=True
    )
    x = _data(shape)
    out, indices = pool(cr.tensor(x, dtype="float64"))
    t_out, t_indices = t_pool(torch.tensor(x))
    np.testing.assert_array_equal(
        np.asarray(ours(out, indices, shape[2:])), theirs(t_out, t_indices, shape[2:]).numpy()
    )


def test_modules_save_and_load_through_the_registry():
    from chainrule.nn.registry import module_from_config, module_to_config

    model = nn.Sequential(
        nn.AdaptiveMaxPool2d((2, None)),
        nn.AdaptiveMaxPool1d(3, True),
        nn.AdaptiveMaxPool3d(3),
        nn.LPPool2d(2, 3),
        nn.LPPool1d(1.5, 3, 2),
        nn.LPPool3d(-math.inf, (1, 2, 3), ceil_mode=True),
        nn.MaxUnpool2d(2, padding=1),
        nn.MaxUnpool1d(2),
        nn.MaxUnpool3d((1, 2, 3), 2),
    )
    config = json.loads(json.dumps(module_to_config(model), allow_nan=False))
    assert repr(module_from_config(config)) == repr(model)
    assert set(config["children"][0]["args"]) == {"output_size", "return_indices"}


def test_functional_and_nn_export_the_names():
    for name in ("adaptive_max_pool", "lp_pool", "max_unpool"):
        for dims in (1, 2, 3):
            assert callable(getattr(F, f"{name}{dims}d"))
    assert callable(F.pdist)
    for name in ("AdaptiveMaxPool", "LPPool", "MaxUnpool"):
        for dims in (1, 2, 3):
            assert f"{name}{dims}d" in nn.__all__


@pytest.mark.parametrize(
    "name",
    [
        "chainrule.ops.pooling_adaptive_max",
        "chainrule.ops.lp_pool",
        "chainrule.ops.unpool",
        "chainrule.ops.pdist",
        "chainrule.nn.pooling_extra",
    ],
)
def test_docstring_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
