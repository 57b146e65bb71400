"""GroupNorm, InstanceNorm1d/2d/3d, F.group_norm and F.instance_norm against torch: outputs,
input, parameter and second-order gradients, running statistics, state dicts, errors."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn import functional as F

torch = pytest.importorskip("torch")
tnn, tF = torch.nn, torch.nn.functional

TOL = {
    "float64": {"rtol": 1e-10, "atol": 1e-12},
    # a group of two values has gradients near zero, where float32's rounding shows
    "float32": {"rtol": 1e-4, "atol": 1e-4},
}


def _t(array, requires_grad=False):
    return cr.tensor(array, dtype="float64", requires_grad=requires_grad)


def _x(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape) * 2.0 + rng.standard_normal(
        shape[:2] + (1,) * (len(shape) - 2)
    )


def _randomise_affine(ours, seed=7):
    rng = np.random.default_rng(seed)
    for param in ours.parameters():
        param.data[...] = rng.standard_normal(param.shape)


def _compare(ours, theirs, x, dtype="float64", *, train=True):
    """Forward, input and parameter gradients, and the state after the step, all match."""
    tol, tdtype = TOL[dtype], getattr(torch, dtype)
    ours.to(getattr(cr, dtype))
    theirs.to(tdtype)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    ours.train(train), theirs.train(train)
    x_ours = cr.tensor(x, dtype=dtype, requires_grad=True)
    x_theirs = torch.tensor(x, dtype=tdtype, requires_grad=True)
    out_ours, out_theirs = ours(x_ours), theirs(x_theirs)
    np.testing.assert_allclose(out_ours.detach().numpy(), out_theirs.detach().numpy(), **tol)
    upstream = np.random.default_rng(1).standard_normal(out_ours.shape).astype(dtype)
    (out_ours * cr.tensor(upstream, dtype=dtype)).sum().backward()
    out_theirs.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(x_ours.grad.numpy(), x_theirs.grad.numpy(), **tol)
    their_params = dict(theirs.named_parameters())
    assert [n for n, _ in ours.named_parameters()] == list(their_params)
    for name, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), their_params[name].grad.numpy(), **tol)
    theirs_state = theirs.state_dict()
    assert list(ours.state_dict()) == list(theirs_state)
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(value, theirs_state[name].numpy(), **tol)


GROUP_CASES = [  # (num_groups, num_channels, input shape)
    (1, 6, (4, 6)),
    (3, 6, (4, 6)),
    (6, 6, (3, 6, 5)),
    (2, 6, (3, 6, 5)),
    (1, 4, (2, 4, 3, 5)),
    (2, 4, (2, 4, 3, 5)),
    (4, 4, (2, 4, 3, 5)),
    (3, 6, (2, 6, 2, 3, 4)),
    (6, 6, (2, 6, 2, 3, 4)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("groups, channels, shape", GROUP_CASES)
def test_group_norm_matches_torch(groups, channels, shape, affine, dtype):
    ours, theirs = (
        nn.GroupNorm(groups, channels, affine=affine),
        tnn.GroupNorm(groups, channels, affine=affine),
    )
    _randomise_affine(ours)
    _compare(ours, theirs, _x(*shape), dtype, train=True)
    _compare(ours, theirs, _x(*shape, seed=2), dtype, train=False)  # no state: the same


def test_group_norm_without_bias_and_with_eps_matches_torch():
    ours = nn.GroupNorm(2, 4, eps=0.5, bias=False)
    _randomise_affine(ours)
    _compare(ours, tnn.GroupNorm(2, 4, eps=0.5, bias=False), _x(3, 4, 5))


INSTANCE_CASES = [  # (class name, input shape)
    ("InstanceNorm1d", (3, 4, 5)),
    ("InstanceNorm1d", (4, 5)),
    ("InstanceNorm2d", (2, 4, 3, 5)),
    ("InstanceNorm2d", (4, 3, 5)),
    ("InstanceNorm3d", (2, 4, 2, 3, 4)),
    ("InstanceNorm3d", (4, 2, 3, 4)),
]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, {"affine": True}, {"affine": True, "bias": False}, {"eps": 0.1}],
    ids=["default", "affine", "no-bias", "eps"],
)
@pytest.mark.parametrize("name, shape", INSTANCE_CASES)
def test_instance_norm_matches_torch(name, shape, kwargs, dtype):
    ours, theirs = getattr(nn, name)(4, **kwargs), getattr(tnn, name)(4, **kwargs)
    _randomise_affine(ours)
    _compare(ours, theirs, _x(*shape), dtype, train=True)
    _compare(ours, theirs, _x(*shape, seed=3), dtype, train=False)  # still the input's stats


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("name, shape", INSTANCE_CASES)
def test_instance_norm_running_stats_train_then_eval_match_torch(name, shape, affine, momentum):
    kwargs = {"affine": affine, "track_running_stats": True, "momentum": momentum}
    ours, theirs = getattr(nn, name)(4, **kwargs), getattr(tnn, name)(4, **kwargs)
    _randomise_affine(ours)
    for step in range(3):  # three steps move the running statistics (momentum None: they stay)
        _compare(ours, theirs, _x(*shape, seed=10 + step) + step, train=True)
    assert int(ours.num_batches_tracked.array) == 0  # PyTorch never advances it here
    _compare(ours, theirs, _x(*shape, seed=20), train=False)  # normalised by the running stats


def test_instance_norm_eval_uses_the_running_statistics():
    norm = nn.InstanceNorm1d(2, track_running_stats=True, dtype="float64").eval()
    norm.running_mean.data[...] = [1.0, -1.0]
    norm.running_var.data[...] = [4.0, 9.0]
    out = norm(np.array([[[1.0], [2.0]]]))  # one position is fine without input statistics
    np.testing.assert_allclose(out.numpy(), [[[0.0], [3.0 / np.sqrt(9.0 + 1e-5)]]], rtol=1e-12)


def test_functionals_match_torch_with_every_argument():
    x = _x(3, 4, 5, seed=4)
    w, b = _x(4, seed=5), _x(4, seed=6)
    ours = F.group_norm(_t(x), 2, _t(w), _t(b), 1e-3)
    theirs = tF.group_norm(torch.from_numpy(x), 2, torch.from_numpy(w), torch.from_numpy(b), 1e-3)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **TOL["float64"])
    mean, var = np.zeros(4), np.ones(4)
    t_mean, t_var = torch.zeros(4, dtype=torch.float64), torch.ones(4, dtype=torch.float64)
    ours = F.instance_norm(_t(x), _t(mean), _t(var), _t(w), _t(b), True, 0.3, 1e-3)
    theirs = tF.instance_norm(
        torch.from_numpy(x),
        t_mean,
        t_var,
        torch.from_numpy(w),
        torch.from_numpy(b),
        True,
        0.3,
        1e-3,
    )
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **TOL["float64"])
    # torch updated its running statistics in place; so did we (through the tensors we passed)
    running = _t(mean), _t(var)
    F.instance_norm(_t(x), *running, momentum=0.3)
    np.testing.assert_allclose(running[0].numpy(), t_mean.numpy(), **TOL["float64"])
    np.testing.assert_allclose(running[1].numpy(), t_var.numpy(), **TOL["float64"])
    arrays = mean.copy(), var.copy()  # NumPy arrays as the running statistics: also in place
    F.instance_norm(_t(x), *arrays, momentum=0.3)
    np.testing.assert_allclose(arrays[0], t_mean.numpy(), **TOL["float64"])
    np.testing.assert_allclose(arrays[1], t_var.numpy(), **TOL["float64"])
    ours = F.instance_norm(_t(x), *running, use_input_stats=False)
    theirs = tF.instance_norm(torch.from_numpy(x), t_mean, t_var, use_input_stats=False)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), **TOL["float64"])


def _second_order(lib, layer, x, upstream, probe):
    """∂/∂(x, params) of Σ probe·∂(Σ upstream·layer(x))/∂x: a gradient of a gradient."""
    out = (layer(x) * upstream).sum()
    if lib is torch:
        (grad_x,) = torch.autograd.grad(out, x, create_graph=True)
        (grad_x * probe).sum().backward()
    else:
        (grad_x,) = cr.autograd.grad(out, x, create_graph=True)
        (grad_x * probe).sum().backward()
    # β does not reach ∂out/∂x: no second-order gradient at all (torch leaves it None)
    return [x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters() if p.grad is not None]


@pytest.mark.parametrize(
    "build",
    [
        lambda lib: lib.nn.GroupNorm(2, 4),
        lambda lib: lib.nn.InstanceNorm2d(4, affine=True),
    ],
    ids=["group", "instance"],
)
def test_second_order_gradients_match_torch(build):
    x, upstream, probe = _x(2, 4, 3, 3, seed=8), _x(2, 4, 3, 3, seed=9), _x(2, 4, 3, 3, seed=10)
    ours, theirs = build(cr).double(), build(torch).double()
    _randomise_affine(ours)
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    got = _second_order(cr, ours, _t(x, requires_grad=True), _t(upstream), _t(probe))
    want = _second_order(
        torch,
        theirs,
        torch.tensor(x, requires_grad=True),
        torch.from_numpy(upstream),
        torch.from_numpy(probe),
    )
    for a, b in zip(got, want, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize(
    "fn, shape",
    [
        (lambda x, w, b: F.group_norm(x, 2, w, b), (2, 4, 3)),
        (lambda x, w, b: F.group_norm(x, 4, w, b), (2, 4, 2, 2)),
        (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (2, 4, 3)),
        (lambda x, w, b: F.instance_norm(x, weight=w, bias=b), (1, 4, 2, 2, 2)),
    ],
)
def test_finite_differences_agree(fn, shape):
    x = _t(_x(*shape, seed=11), requires_grad=True)
    w = _t(_x(4, 1, seed=12)[:, 0], requires_grad=True)
    b = _t(_x(4, 1, seed=13)[:, 0], requires_grad=True)
    assert cr.gradcheck(fn, x, w, b)


def test_state_dicts_round_trip_with_torch():
    theirs = tnn.Sequential(
        tnn.Conv2d(3, 4, 3),
        tnn.GroupNorm(2, 4),
        tnn.InstanceNorm2d(4, affine=True, track_running_stats=True),
    )
    theirs.train()(torch.randn(2, 3, 6, 6))  # moves the running statistics
    ours = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.GroupNorm(2, 4),
        nn.InstanceNorm2d(4, affine=True, track_running_stats=True),
    )
    with torch.no_grad():
        theirs[1].weight.normal_(), theirs[2].bias.normal_()
    ours.load_state_dict(theirs.state_dict())
    assert list(ours.state_dict()) == list(theirs.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 3, 6, 6)).astype(np.float32)
    ours.eval(), theirs.eval()
    np.testing.assert_allclose(
        ours(x).detach().numpy(), theirs(torch.from_numpy(x)).detach().numpy(), **TOL["float32"]
    )
    back = tnn.Sequential(
        tnn.Conv2d(3, 4, 3),
        tnn.GroupNorm(2, 4),
        tnn.InstanceNorm2d(4, affine=True, track_running_stats=True),
    )
    back.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})
    for name, value in theirs.state_dict().items():
        np.testing.assert_array_equal(back.state_dict()[name].numpy(), value.numpy())


@pytest.mark.parametrize(
    "build",
    [
        lambda lib: lib.nn.GroupNorm(2, 6),
        lambda lib: lib.nn.GroupNorm(3, 6, eps=1e-3, affine=False),
        lambda lib: lib.nn.GroupNorm(1, 2, bias=False),
        lambda lib: lib.nn.InstanceNorm1d(4),
        lambda lib: lib.nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
        lambda lib: lib.nn.InstanceNorm3d(3, momentum=None, affine=True, bias=False),
    ],
)
def test_repr_and_names_match_torch(build):
    ours, theirs = build(cr), build(torch)
    assert repr(ours) == repr(theirs)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()
    ]
    assert list(ours.state_dict()) == list(theirs.state_dict())


# ---- errors: the problem named, as torch names it ------------------------------------------
@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda lib: lib.nn.GroupNorm(4, 6), ValueError, r"num_channels \(6\).*num_groups \(4\)"),
        # torch: "integer modulo by zero" from num_channels % num_groups; ours says which
        (lambda lib: lib.nn.GroupNorm(0, 6), ZeroDivisionError, "modulo by zero|num_groups is 0"),
        (lambda lib: lib.nn.GroupNorm(2, 6)(lib.ones(2, 4, 3)), RuntimeError, "input of shape"),
        (lambda lib: lib.nn.GroupNorm(2, 6)(lib.ones(6)), RuntimeError, "at least 2 dimensions"),
        (
            lambda lib: lib.nn.functional.group_norm(lib.ones(2, 6, 3), 4),
            RuntimeError,
            "divisible by num_groups",
        ),
        (
            lambda lib: lib.nn.GroupNorm(2, 6, affine=False)(lib.ones(2, 5, 3)),
            RuntimeError,
            "divisible by num_groups|expected \\(N, 6, \\*\\)",
        ),
        (
            lambda lib: lib.nn.functional.group_norm(lib.ones(1, 6), 6),
            ValueError,
            "more than 1 value per channel",
        ),
        (
            lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, 5)),
            ValueError,
            "expected 2D or 3D input",
        ),
        (
            lambda lib: lib.nn.InstanceNorm2d(3, affine=True)(lib.ones(2, 4, 4, 4)),
            ValueError,
            "size at dim=1 to match num_features",
        ),
        (
            lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 1)),
            ValueError,
            "more than 1 spatial element",
        ),
        (
            lambda lib: lib.nn.functional.instance_norm(lib.ones(2, 3, 4), use_input_stats=False),
            RuntimeError,
            "running_mean and running_var to be defined",
        ),
    ],
)
def test_bad_input_raises_like_torch(call, error, match):
    for lib in (torch, cr):
        with pytest.raises(error, match=match):
            call(lib)


def test_a_channel_count_instance_norm_ignores_warns_like_torch():
    with pytest.warns(UserWarning, match="does not match num_features"):
        out = nn.InstanceNorm1d(3)(cr.ones(2, 4, 5))
    assert out.shape == (2, 4, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.InstanceNorm1d(4)(cr.ones(2, 4, 5))
    with pytest.raises(cr.ShapeError, match="match num_features"):  # torch: a size error
        nn.InstanceNorm1d(3, track_running_stats=True)(cr.ones(2, 4, 5))


def test_float64_input_to_float32_layer_is_refused():
    with pytest.raises(cr.DTypeError, match="float32 parameters"):
        nn.GroupNorm(2, 4)(cr.ones(2, 4, 3, dtype="float64"))


def test_cr_save_and_load_rebuild_both_with_their_state(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3),
        nn.GroupNorm(2, 4, eps=1e-3, bias=False),
        nn.InstanceNorm2d(4, momentum=None, affine=True, track_running_stats=True),
        nn.InstanceNorm2d(4),
    )
    model(cr.randn(2, 3, 6, 6))
    model[2].running_mean.data[...] = [1.0, 2.0, 3.0, 4.0]
    cr.save(model, tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    assert repr(loaded) == repr(model)
    for (name, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize(
    "args, message",
    [({"num_groups": 4, "num_channels": 6}, "divisible"), ({"num_channels": 6}, "num_groups")],
)
def test_bad_saved_group_norm_configs_are_a_model_format_error(args, message):
    from chainrule.nn.registry import module_from_config

    with pytest.raises(cr.ModelFormatError, match=message):
        module_from_config({"type": "GroupNorm", "args": args})


@pytest.mark.parametrize(
    "kind, args",
    [
        ("GroupNorm", {"num_groups": 1, "num_channels": 51}),  # weight and bias: 102
        ("InstanceNorm1d", {"num_features": 51, "track_running_stats": True}),
        ("InstanceNorm2d", {"num_features": 51, "affine": True}),
        ("InstanceNorm3d", {"num_features": 101, "affine": True, "bias": False}),
    ],
)
def test_saved_configs_count_their_parameters_before_building(kind, args):
    from chainrule.nn.registry import module_from_config

    with pytest.raises(cr.ModelFormatError, match="parameters"):
        module_from_config({"type": kind, "args": args}, max_parameters=100)
    args["num_features" if "num_features" in args else "num_channels"] = 4
    module_from_config({"type": kind, "args": args}, max_parameters=100)  # smaller: it builds


def test_zero_groups_is_still_a_value_error():
    with pytest.raises(ValueError, match="num_groups is 0"):  # as chainrule's was
        nn.GroupNorm(0, 6)
