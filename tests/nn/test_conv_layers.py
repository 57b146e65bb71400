"""Convolutional layers against torch.nn: parameter names, shapes, init, reprs, forward and
gradients with shared weights, state_dicts both ways, and save/load of a CNN."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

try:
    import torch

    tnn = torch.nn
except ImportError:  # the comparisons with PyTorch skip; the rest still runs
    torch = tnn = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch (the test oracle)")

TIGHT = dict(rtol=1e-10, atol=1e-11)

# (ours, theirs, input shape): the same constructor call in both libraries
LAYERS = {
    "conv2d": ("Conv2d(3, 4, 3)", (2, 3, 7, 6)),
    "conv2d_options": (
        "Conv2d(4, 6, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), groups=2)",
        (2, 4, 9, 8),
    ),
    "conv2d_same_nobias": ("Conv2d(2, 3, 4, padding='same', bias=False)", (1, 2, 6, 5)),
    "conv2d_valid": ("Conv2d(2, 3, 3, padding='valid')", (2, 2, 5, 5)),
    "conv1d": ("Conv1d(3, 5, 3, stride=2, padding=1)", (2, 3, 11)),
    "conv1d_same_groups": ("Conv1d(4, 4, 5, padding='same', dilation=2, groups=4)", (2, 4, 11)),
    "conv_transpose2d": (
        "ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2)",
        (2, 4, 4, 5),
    ),
    "conv_transpose1d": ("ConvTranspose1d(3, 2, 4, stride=2, dilation=2)", (2, 3, 6)),
    "max_pool2d": ("MaxPool2d(2)", (2, 3, 8, 8)),
    "max_pool2d_options": ("MaxPool2d((3, 2), stride=2, padding=1, ceil_mode=True)", (2, 3, 9, 8)),
    "max_pool1d": ("MaxPool1d(3, stride=2, dilation=2)", (2, 3, 12)),
    "avg_pool2d": ("AvgPool2d(3, stride=2, padding=1, count_include_pad=False)", (2, 3, 9, 8)),
    "avg_pool2d_ceil": ("AvgPool2d(2, ceil_mode=True, divisor_override=3)", (1, 2, 5, 5)),
    "avg_pool1d": ("AvgPool1d(4, stride=3, padding=2, ceil_mode=True)", (2, 3, 10)),
    "adaptive_avg_pool2d": ("AdaptiveAvgPool2d((2, None))", (2, 3, 7, 6)),
    "adaptive_avg_pool1d": ("AdaptiveAvgPool1d(3)", (2, 3, 7)),
    "batchnorm2d": ("BatchNorm2d(3)", (4, 3, 5, 5)),
    "batchnorm2d_plain": ("BatchNorm2d(3, affine=False, momentum=None)", (4, 3, 2, 3)),
    "flatten": ("Flatten()", (2, 3, 4, 5)),
    "unflatten": ("Unflatten(1, (3, 4))", (2, 12, 5)),
}


def build(expression: str, library):
    return eval(expression, {}, vars(library))  # the test's own constructor strings


def torch_state(module):
    return {k: torch.from_numpy(np.asarray(v).copy()) for k, v in module.state_dict().items()}


@needs_torch
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
    x = np.random.default_rng(0).standard_normal(shape)
    xo = cr.tensor(x, dtype="float64", requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    out, expected = ours(xo), theirs(xt)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TIGHT)
    upstream = np.random.default_rng(1).standard_normal(tuple(expected.shape))
    (out * upstream).sum().backward()
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(np.asarray(xo.grad), xt.grad.numpy(), **TIGHT)
    theirs_params = dict(theirs.named_parameters())
    for key, param in ours.named_parameters():
        np.testing.assert_allclose(np.asarray(param.grad), theirs_params[key].grad.numpy(), **TIGHT)
    theirs_state = theirs.state_dict()  # running statistics after the training step
    for key, value in ours.state_dict().items():
        np.testing.assert_allclose(np.asarray(value), theirs_state[key].numpy(), **TIGHT)


@needs_torch
@pytest.mark.parametrize(
    "expression",
    [
        "Conv2d(6, 16, 5)",
        "Conv2d(4, 8, (3, 2), groups=2)",
        "Conv1d(3, 7, 4)",
        "ConvTranspose2d(6, 4, 3)",
    ],
)
def test_init_is_pytorch_kaiming_uniform(expression):
    cr.manual_seed(0)
    layer = build(expression, nn)
    w, b = np.asarray(layer.weight.data), np.asarray(layer.bias.data)
    bound = 1 / math.sqrt(w.shape[1] * math.prod(w.shape[2:]))
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.9 * bound and abs(w.std() - bound / math.sqrt(3)) < 0.15 * bound
    assert w.dtype == np.float32 and w.shape == tuple(build(expression, tnn).weight.shape)


def lenet(library):
    return library.Sequential(
        library.Conv2d(1, 6, 5, padding=2),
        library.BatchNorm2d(6),
        library.ReLU(),
        library.MaxPool2d(2),
        library.Conv2d(6, 16, 5),
        library.ReLU(),
        library.AvgPool2d(2),
        library.Dropout2d(0.25),
        library.Flatten(),
        library.Linear(400, 10),
    )


@needs_torch
def test_state_dicts_move_both_ways_with_torch():
    ours, theirs = lenet(nn), lenet(tnn)
    x = np.random.default_rng(3).standard_normal((4, 1, 28, 28)).astype(np.float32)
    ours.train()
    ours(x)  # move the running statistics away from their start
    theirs.load_state_dict(torch_state(ours), strict=True)
    ours.eval(), theirs.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours(x).detach().numpy(), expected, rtol=1e-4, atol=1e-5)
    for p in theirs.parameters():  # and back, from fresh torch weights
        torch.nn.init.normal_(p, std=0.1)
    fresh = lenet(nn)
    fresh.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()}, strict=True)
    fresh.eval()
    with torch.no_grad():
        expected = theirs(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(fresh(x).detach().numpy(), expected, rtol=1e-4, atol=1e-5)


def test_save_load_round_trip_of_a_cnn(tmp_path):
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding="same"),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2, ceil_mode=True),
        nn.Conv2d(4, 8, (3, 2), stride=(1, 2), groups=2, bias=False),
        nn.AvgPool2d(2, count_include_pad=False, divisor_override=2),
        nn.Dropout2d(0.1),
        nn.ConvTranspose2d(8, 4, 2, stride=2, output_padding=1),
        nn.AdaptiveAvgPool2d((2, None)),
        nn.Flatten(),
        nn.Unflatten(1, (4, -1)),
        nn.Conv1d(4, 2, 3, padding=1),
        nn.MaxPool1d(2),
        nn.AvgPool1d(1),
        nn.AdaptiveAvgPool1d(1),
        nn.ConvTranspose1d(2, 3, 2),
        nn.Flatten(),
    ).double()
    x = np.random.default_rng(0).standard_normal((2, 1, 9, 9))
    model.train()
    model(x)
    model.eval()
    path = tmp_path / "cnn.safetensors"
    cr.save(model, path)
    loaded = cr.load(path)
    assert repr(loaded) == repr(model)
    loaded.eval()
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())
    # the file's architecture is plain JSON of the layers' PyTorch arguments
    from chainrule.io import format as fmt

    meta = fmt.read(path).metadata
    arch = json.loads(next(v for k, v in meta.items() if "arch" in k))
    assert arch["children"][0] == {
        "type": "Conv2d",
        "args": {
            "in_channels": 1,
            "out_channels": 4,
            "kernel_size": [3, 3],
            "stride": [1, 1],
            "padding": "same",
            "dilation": [1, 1],
            "groups": 1,
            "bias": True,
            "padding_mode": "zeros",
            "dtype": "float64",
        },
    }


@pytest.mark.parametrize(
    "args, match",
    [
        ({"kernel_size": [3, 3, 3]}, "list of 1 or 2"),
        ({"kernel_size": 0}, "integers in"),
        ({"padding": "full"}, "same"),
        ({"padding_mode": "wrap"}, "zeros"),
        ({"groups": 0}, ">= 1"),
    ],
)
def test_hostile_conv_configs_are_refused(args, match):
    from chainrule.nn.registry import module_from_config

    config = {"type": "Conv2d", "args": {"in_channels": 2, "out_channels": 2, "kernel_size": 3}}
    config["args"].update(args)
    with pytest.raises(cr.ModelFormatError, match=match):
        module_from_config(config)


def test_dropout2d_zeros_whole_channels_and_is_identity_in_eval():
    layer = nn.Dropout2d(0.5, generator=cr.Generator(0))
    x = np.ones((8, 16, 4, 4), np.float32)
    out = layer(x).numpy()
    per_channel = out.reshape(8, 16, -1)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # a channel is all or none
    assert set(np.unique(out)) == {0.0, 2.0}
    assert 0.3 < (per_channel[:, :, 0] == 0).mean() < 0.7
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x)
    # a 2-D input is deprecated but still dropped by channel (dimension 1), as PyTorch's
    with pytest.warns(UserWarning, match="Received a 2-D input to dropout2d"):
        flat = layer.train()(np.ones((40, 30), np.float32)).numpy()
    assert set(np.unique(flat)) == {0.0, 2.0}
    with pytest.raises(cr.ShapeError, match="at least 2 dimensions"), pytest.warns(UserWarning):
        layer(np.ones(4, np.float32))


def test_layer_errors_name_the_problem():
    with pytest.raises(ValueError, match="groups=3 must divide"):
        nn.Conv2d(4, 6, 3, groups=3)
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(1, 1, 3, padding_mode="wrap")
    with pytest.raises(ValueError, match="strided"):
        nn.Conv2d(1, 1, 3, stride=2, padding="same")
    with pytest.raises(cr.ShapeError, match="channels"):
        nn.Conv2d(3, 4, 3)(np.ones((1, 2, 5, 5)))
    with pytest.raises(cr.ShapeError, match=r"expected \(N, 4, H, W\)"):
        nn.BatchNorm2d(4)(np.ones((2, 3, 5, 5)))
    with pytest.raises(cr.ShapeError, match="cannot be split"):
        nn.Unflatten(1, (3, 5))(np.ones((2, 12)))
    with pytest.raises(cr.DTypeError, match="convert"):
        nn.Conv2d(1, 1, 3)(cr.tensor(np.ones((1, 1, 5, 5)), dtype="float64"))


def test_a_small_cnn_learns_the_synthetic_shapes():
    X, y = cr.datasets.shapes(n=480, size=16, noise=0.1, seed=0)
    X_test, y_test = cr.datasets.shapes(n=160, size=16, noise=0.1, seed=1)
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(256, 4),
    )
    optimizer = cr.optim.Adam(model.parameters(), lr=3e-3)
    cr.fit(model, (X, y), nn.CrossEntropyLoss(), optimizer, epochs=10, verbose=False)
    accuracy = (cr.predict(model, X_test).argmax(axis=1) == y_test).mean()
    assert accuracy > 0.9  # 0.95 measured; chance is 0.25


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda lib: lib.nn.MaxPool2d(2, return_indices=True), (2, 3, 5, 4)),
        (lambda lib: lib.nn.MaxPool2d(3, 2, 1, ceil_mode=True, return_indices=True), (3, 7, 6)),
        (lambda lib: lib.nn.MaxPool1d(2, return_indices=True), (2, 3, 7)),
        (lambda lib: lib.nn.MaxPool1d(3, 1, 1, return_indices=True), (3, 6)),
        (
            lambda lib: lambda x: lib.nn.functional.max_pool2d(x, 2, return_indices=True),
            (1, 2, 4, 4),
        ),
        (lambda lib: lambda x: lib.nn.functional.max_pool1d(x, 2, return_indices=True), (1, 2, 6)),
    ],
)
def test_max_pool_indices_are_an_int64_tensor_as_in_pytorch(build, shape):
    x = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    out, indices = build(cr)(cr.tensor(x, requires_grad=True))
    t_out, t_indices = build(torch)(torch.tensor(x, requires_grad=True))
    assert isinstance(indices, cr.Tensor) and indices.dtype == np.int64
    assert not indices.requires_grad and indices.shape == tuple(t_indices.shape)
    np.testing.assert_array_equal(indices.numpy(), t_indices.numpy())
    np.testing.assert_array_equal(out.detach().numpy(), t_out.detach().numpy())
    out.sum().backward()  # the output still carries the gradient
