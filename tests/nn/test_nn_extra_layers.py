"""PReLU, Mish, Hardswish, Hardsigmoid, Softsign, Tanhshrink, Threshold, GLU, Softmin, Bilinear,
Conv3d, MaxPool3d and AvgPool3d against torch.nn: reprs, parameter names and shapes,
initialisation, forward and gradients with shared weights; save/load round trips; argument
errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.registry import module_from_config

torch = pytest.importorskip("torch")
tnn = torch.nn

TIGHT = dict(rtol=1e-10, atol=1e-11)

# the same constructor call in both libraries, and an input shape
LAYERS = {
    "prelu": ("PReLU()", (4, 3)),
    "prelu_channels": ("PReLU(3, 0.1)", (2, 3, 4, 5)),
    "prelu_negative_init": ("PReLU(init=-0.5)", (6,)),
    "mish": ("Mish()", (4, 5)),
    "mish_inplace": ("Mish(inplace=True)", (4, 5)),
    "hardswish": ("Hardswish()", (4, 5)),
    "hardsigmoid": ("Hardsigmoid(inplace=True)", (4, 5)),
    "softsign": ("Softsign()", (4, 5)),
    "tanhshrink": ("Tanhshrink()", (4, 5)),
    "threshold": ("Threshold(0.1, 20)", (4, 5)),
    "threshold_inplace": ("Threshold(-0.5, 2.5, True)", (4, 5)),
    "glu": ("GLU()", (4, 6)),
    "glu_dim1": ("GLU(dim=1)", (4, 6, 3)),
    "softmin": ("Softmin(dim=1)", (4, 5)),
    "softmax2d": ("Softmax2d()", (2, 3, 4, 5)),
    "softmax2d_unbatched": ("Softmax2d()", (3, 4, 5)),
    "conv3d": ("Conv3d(2, 4, 3)", (2, 2, 5, 6, 5)),
    "conv3d_options": (
        "Conv3d(4, 6, (2, 3, 1), stride=(2, 1, 2), padding=(1, 0, 1), dilation=(1, 2, 1), "
        "groups=2, bias=False)",
        (2, 4, 6, 7, 5),
    ),
    "conv3d_same": ("Conv3d(2, 3, (2, 3, 4), padding='same')", (1, 2, 4, 5, 6)),
    "conv3d_valid": ("Conv3d(2, 3, 2, padding='valid')", (2, 4, 4, 4)),
    "conv3d_reflect": ("Conv3d(2, 3, 3, padding=1, padding_mode='reflect')", (1, 2, 4, 5, 4)),
    "conv3d_circular": (
        "Conv3d(2, 2, 3, padding=(1, 2, 1), padding_mode='circular')",
        (1, 2, 4, 4, 4),
    ),
    "max_pool3d": ("MaxPool3d(2)", (2, 3, 4, 6, 6)),
    "max_pool3d_options": (
        "MaxPool3d((2, 3, 1), stride=1, padding=(1, 1, 0), dilation=2, ceil_mode=True)",
        (2, 2, 5, 6, 4),
    ),
    "avg_pool3d": ("AvgPool3d(2)", (2, 3, 4, 6, 6)),
    "avg_pool3d_options": (
        "AvgPool3d((3, 2, 3), stride=2, padding=(1, 0, 1), ceil_mode=True, "
        "count_include_pad=False)",
        (2, 2, 5, 6, 7),
    ),
    "avg_pool3d_divisor": ("AvgPool3d((2, 3, 1), 1, (1, 1, 0), divisor_override=3)", (3, 4, 5, 3)),
    "conv3d_replicate_same": (
        "Conv3d(2, 2, (2, 2, 3), padding='same', padding_mode='replicate')",
        (1, 2, 3, 4, 5),
    ),
}


def build(expression: str, library):
    return eval(expression, {}, vars(library))  # the test's own constructor strings


def torch_state(module):
    return {k: torch.from_numpy(np.asarray(v).copy()) for k, v in module.state_dict().items()}


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_matches_torch(name):
    expression, shape = LAYERS[name]
    ours, theirs = build(expression, nn).double(), build(expression, tnn).double()
    assert repr(ours) == repr(theirs)
    assert {k: tuple(np.shape(v)) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    theirs.load_state_dict(torch_state(ours))
    x = np.random.default_rng(0).standard_normal(shape) * 3
    xo = cr.tensor(x, dtype="float64", requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, expected = ours(xo), theirs(xt * 1)  # (an in-place layer may not write into a leaf)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TIGHT)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    (out * upstream).sum().backward()
    expected.backward(torch.from_numpy(upstream))
    # torch's hardsigmoid gradient is float32's 1/6 even in float64
    tol = dict(rtol=1e-7) if name == "hardsigmoid" else TIGHT
    np.testing.assert_allclose(xo.grad.numpy(), xt.grad.numpy(), **tol)
    theirs_params = dict(theirs.named_parameters())
    for key, param in ours.named_parameters():
        np.testing.assert_allclose(param.grad.numpy(), theirs_params[key].grad.numpy(), **TIGHT)


def test_bilinear_matches_torch():
    ours, theirs = nn.Bilinear(3, 4, 5, dtype="float64"), tnn.Bilinear(3, 4, 5).double()
    assert repr(ours) == repr(theirs) and repr(nn.Bilinear(2, 2, 1, bias=False)) == repr(
        tnn.Bilinear(2, 2, 1, bias=False)
    )
    theirs.load_state_dict(torch_state(ours))
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 6, 4))
    ao, bo = (cr.tensor(v, dtype="float64", requires_grad=True) for v in (a, b))
    at, bt = (torch.tensor(v, requires_grad=True) for v in (a, b))
    out, expected = ours(ao, bo), theirs(at, bt)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TIGHT)
    upstream = rng.standard_normal(tuple(expected.shape))
    (out * upstream).sum().backward()
    expected.backward(torch.from_numpy(upstream))
    for mine, their in [(ao, at), (bo, bt), (ours.weight, theirs.weight), (ours.bias, theirs.bias)]:
        np.testing.assert_allclose(mine.grad.numpy(), their.grad.numpy(), **TIGHT)


def test_initialisation_follows_pytorch():
    cr.manual_seed(0)
    prelu = nn.PReLU(4, init=0.1)
    np.testing.assert_array_equal(prelu.weight.detach().numpy(), np.full(4, 0.1, np.float32))
    assert prelu.weight.dtype == np.float32 and nn.PReLU().init == tnn.PReLU().init == 0.25
    bilinear = nn.Bilinear(16, 30, 40)
    w, b = bilinear.weight.detach().numpy(), bilinear.bias.detach().numpy()
    bound = 1 / math.sqrt(16)  # PyTorch: U(±1/√in1_features) for both
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.99 * bound and abs(w.std() - bound / math.sqrt(3)) < 0.02 * bound
    conv = nn.Conv3d(4, 8, (3, 2, 2), groups=2)
    w = conv.weight.detach().numpy()
    bound = 1 / math.sqrt(2 * 3 * 2 * 2)  # Kaiming-uniform, a = √5: U(±1/√fan_in)
    assert w.shape == tuple(tnn.Conv3d(4, 8, (3, 2, 2), groups=2).weight.shape)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(conv.bias.detach().numpy()).max() <= bound


def full_model(library):
    return library.Sequential(
        library.Conv3d(
            2, 4, (1, 2, 3), stride=(1, 2, 1), padding=(0, 1, 1), padding_mode="reflect"
        ),
        library.PReLU(4, 0.1),
        library.MaxPool3d((1, 2, 2), stride=1, padding=(0, 1, 0), ceil_mode=True),
        library.Conv3d(4, 4, 2, padding="same", groups=2, bias=False),
        library.AvgPool3d(2, stride=1, padding=1, count_include_pad=False),
        library.Flatten(),
        library.Mish(),
        library.Hardswish(),
        library.Hardsigmoid(),
        library.Softsign(),
        library.Tanhshrink(),
        library.Threshold(0.1, -1.0),
        library.GLU(),
        library.PReLU(),
        library.Softmin(dim=1),
    )


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
def test_save_load_round_trip_and_the_file_loads_into_torch(tmp_path):
    model = full_model(nn).double()
    model[1].weight.data[...] = np.array([0.3, -0.2, 0.5, 1.5])
    path = tmp_path / "volumes.safetensors"
    cr.save(model, path)
    loaded = cr.load(path)
    assert repr(loaded) == repr(model) == repr(full_model(tnn).double())
    x = np.random.default_rng(0).standard_normal((2, 2, 3, 4, 5))
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())
    theirs = full_model(tnn).double()
    theirs.load_state_dict(torch_state(loaded), strict=True)
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(loaded(x).detach().numpy(), expected, rtol=1e-10, atol=1e-12)


def test_bilinear_and_options_survive_a_saved_file(tmp_path):
    model = nn.ModuleList(
        [nn.Bilinear(3, 4, 2, bias=False), nn.PReLU(3, init=-0.5, dtype="float64")]
    )
    path = tmp_path / "m.safetensors"
    cr.save(model, path)
    loaded = cr.load(path)
    assert repr(loaded) == repr(model)
    assert loaded[0].bias is None and loaded[1].init == -0.5
    assert loaded[1].weight.dtype == np.float64
    np.testing.assert_array_equal(
        loaded[0].weight.detach().numpy(), model[0].weight.detach().numpy()
    )


@pytest.mark.parametrize(
    "config, message",
    [
        (
            {
                "type": "Bilinear",
                "args": {"in1_features": 1000, "in2_features": 1000, "out_features": 1000},
            },
            "parameters",
        ),
        (
            {
                "type": "Conv3d",
                "args": {"in_channels": 100, "out_channels": 100, "kernel_size": 11},
            },
            "parameters",
        ),
        (
            {
                "type": "Conv3d",
                "args": {"in_channels": 1, "out_channels": 1, "kernel_size": [1, 2, 3, 4]},
            },
            "1 to 3 ints",
        ),
        ({"type": "PReLU", "args": {"num_parameters": 0}}, "num_parameters"),
        ({"type": "MaxPool3d", "args": {"kernel_size": [2, 2, 2, 2]}}, "1 to 3 ints"),
        ({"type": "AvgPool3d", "args": {"stride": 2}}, "kernel_size"),
        (
            {"type": "AvgPool3d", "args": {"kernel_size": 2, "divisor_override": 0}},
            "divisor_override",
        ),
        ({"type": "Threshold", "args": {"threshold": 0.5}}, "value"),
        ({"type": "Bilinear", "args": {"in1_features": 2, "in2_features": 2}}, "out_features"),
    ],
)
def test_hostile_configs_are_refused(config, message):
    with pytest.raises(cr.ModelFormatError, match=message):
        module_from_config(config, max_parameters=1_000_000)


def test_parameter_counts_before_building():
    bilinear = {
        "type": "Bilinear",
        "args": {"in1_features": 10, "in2_features": 10, "out_features": 10},
    }
    assert module_from_config(bilinear, max_parameters=1010).weight.shape == (10, 10, 10)
    with pytest.raises(cr.ModelFormatError, match="1,010 parameters"):
        module_from_config(bilinear, max_parameters=1009)
    conv = {"type": "Conv3d", "args": {"in_channels": 2, "out_channels": 3, "kernel_size": 4}}
    assert module_from_config(conv, max_parameters=2 * 3 * 64 + 3).weight.shape == (3, 2, 4, 4, 4)
    with pytest.raises(cr.ModelFormatError, match="387 parameters"):
        module_from_config(conv, max_parameters=386)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: nn.PReLU(0), ValueError, "num_parameters"),
        (lambda: nn.PReLU(2.5), ValueError, "num_parameters"),
        (lambda: nn.PReLU(init=float("nan")), ValueError, "init"),
        (lambda: nn.PReLU(3)(cr.ones(2, 4)), cr.ShapeError, "channel size = 4"),
        (lambda: nn.Threshold(0.1), TypeError, "value"),
        (lambda: nn.Threshold("a", 1), ValueError, "threshold"),
        (lambda: nn.GLU(dim=1.5), ValueError, "dim"),
        (lambda: nn.GLU()(cr.ones(2, 3)), cr.ShapeError, "must be even"),
        (lambda: nn.Softmin(dim="x"), ValueError, "dim"),
        (lambda: nn.Softmax2d()(cr.ones(2, 3)), cr.ShapeError, "3D or 4D, got 2D"),
        (lambda: nn.Bilinear(0, 2, 3), ValueError, "in1_features"),
        (lambda: nn.Bilinear(2, 2, 3)(cr.ones(4, 2), cr.ones(4, 3)), cr.ShapeError, "input2"),
        (
            lambda: nn.Bilinear(2, 2, 3)(cr.ones(4, 2, dtype="float64"), cr.ones(4, 2)),
            cr.DTypeError,
            "float64",
        ),
        (lambda: nn.Conv3d(2, 4, (3, 3)), ValueError, "3-tuple"),
        (lambda: nn.Conv3d(3, 4, 3, groups=2), ValueError, "groups"),
        (lambda: nn.Conv3d(2, 4, 3, stride=2, padding="same"), ValueError, "strided"),
        (lambda: nn.Conv3d(2, 4, 3, padding_mode="mirror"), ValueError, "padding_mode"),
        (lambda: nn.Conv3d(2, 4, 3)(cr.ones(1, 3, 4, 4, 4)), cr.ShapeError, "channels"),
        (lambda: nn.Conv3d(2, 4, 3)(cr.ones(2, 4, 4)), cr.ShapeError, "(N, C, D, H, W)"),
    ],
)
def test_bad_arguments_are_refused(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_inplace_layers_write_into_the_input_outside_the_graph():
    for layer in (nn.Mish(inplace=True), nn.Hardswish(True), nn.Threshold(0.0, 1.0, True)):
        x = cr.tensor([-4.0, -1.0, 2.0])
        assert layer(x) is x
        t = torch.tensor([-4.0, -1.0, 2.0])
        build(
            repr(layer).replace("()", "(inplace=True)")
            if "inplace" not in repr(layer)
            else repr(layer),
            tnn,
        )(t)
        np.testing.assert_allclose(x.numpy(), t.numpy(), rtol=1e-6)
