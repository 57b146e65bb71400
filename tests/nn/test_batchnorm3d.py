"""BatchNorm3d against torch.nn.BatchNorm3d: values, gradients and running statistics in
training and evaluation, its options, its errors, save/load and a Conv3d network."""

from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

TIGHT = dict(rtol=1e-10, atol=1e-11)

OPTIONS = [
    {},
    {"momentum": None},
    {"affine": False},
    {"track_running_stats": False},
    {"eps": 1e-3, "momentum": 0.3},
]


@pytest.mark.parametrize("options", OPTIONS, ids=str)
def test_batchnorm3d_matches_torch(options):
    ours = nn.BatchNorm3d(3, **options).double()
    theirs = torch.nn.BatchNorm3d(3, **options).double()
    assert repr(ours) == repr(theirs)
    rng = np.random.default_rng(0)
    if ours.weight is not None:  # learned values that are not the initial 1 and 0
        for name in ("weight", "bias"):
            value = rng.standard_normal(3)
            getattr(ours, name).array[...] = value
            getattr(theirs, name).data[...] = torch.from_numpy(value)
    for step, training in enumerate((True, True, False)):
        ours.train(training), theirs.train(training)
        x = rng.standard_normal((2, 3, 2, 3, 4)) * (step + 1) + step
        xo = cr.tensor(x, dtype="float64", requires_grad=True)
        xt = torch.tensor(x, requires_grad=True)
        out, expected = ours(xo), theirs(xt)
        np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TIGHT)
        upstream = rng.standard_normal(x.shape)
        out.backward(cr.tensor(upstream, dtype="float64"))
        expected.backward(torch.from_numpy(upstream))
        np.testing.assert_allclose(np.asarray(xo.grad), xt.grad.numpy(), **TIGHT)
        for name, p in theirs.named_parameters():
            np.testing.assert_allclose(np.asarray(getattr(ours, name).grad), p.grad, **TIGHT)
    state = theirs.state_dict()
    assert set(ours.state_dict()) == set(state)
    for name, value in ours.state_dict().items():
        np.testing.assert_allclose(np.asarray(value), state[name].numpy(), **TIGHT)


def test_batchnorm3d_errors_name_the_layer():
    layer = nn.BatchNorm3d(3)
    with pytest.raises(cr.ShapeError, match=r"BatchNorm3d\(3\).*\(N, 3, D, H, W\)"):
        layer(cr.ones(2, 3, 4, 4))
    with pytest.raises(cr.ShapeError, match="BatchNorm3d needs more than one value"):
        layer(cr.ones(1, 3, 1, 1, 1))
    layer.eval()
    assert layer(cr.ones(1, 3, 1, 1, 1)).shape == (1, 3, 1, 1, 1)  # running stats: fine
    with pytest.raises(ValueError, match="BatchNorm3d: num_features"):
        nn.BatchNorm3d(0)
    with pytest.raises(ValueError, match="BatchNorm2d: momentum"):
        nn.BatchNorm2d(3, momentum=2)


def test_conv3d_network_with_batchnorm3d_saves_and_loads(tmp_path):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Conv3d(2, 4, 3, padding=1), nn.BatchNorm3d(4), nn.ReLU(), nn.Flatten(),
        nn.Linear(4 * 2 * 3 * 3, 2),
    )
    model(cr.randn(3, 2, 2, 3, 3))  # moves the running statistics
    model.eval()
    x = cr.randn(2, 2, 2, 3, 3)
    cr.save(model, tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    assert isinstance(loaded[1], nn.BatchNorm3d)
    np.testing.assert_allclose(loaded(x).detach().numpy(), model(x).detach().numpy())
    theirs = torch.nn.Sequential(
        torch.nn.Conv3d(2, 4, 3, padding=1), torch.nn.BatchNorm3d(4), torch.nn.ReLU(),
        torch.nn.Flatten(), torch.nn.Linear(4 * 2 * 3 * 3, 2),
    ).eval()
    theirs.load_state_dict({
        k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()
    })
    expected = theirs(torch.from_numpy(x.numpy())).detach().numpy()
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-5, atol=1e-6)
