"""nn.Softmax / nn.LogSoftmax and F.softmax / F.log_softmax without a dim: PyTorch's implicit
choice (dim 0 for 0-, 1- and 3-D inputs, else dim 1) with its deprecation warning, not the
last axis, which gave other numbers on 3-D and 4-D inputs."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.registry import module_from_config, module_to_config

torch = pytest.importorskip("torch")

SHAPES = [(5,), (2, 3), (2, 3, 4), (2, 3, 2, 2)]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
def test_no_dim_follows_pytorch_and_warns(name, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    expected = getattr(torch.nn, name)()(torch.tensor(x)).numpy()
    functional = getattr(cr.nn.functional, "softmax" if name == "Softmax" else "log_softmax")
    for run in (lambda t: getattr(cr.nn, name)()(t), functional):
        with pytest.warns(UserWarning, match="Implicit dimension choice"):
            out = run(cr.tensor(x, dtype="float64"))
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["Softmax", "LogSoftmax"])
def test_a_named_dim_is_used_as_given_without_a_warning(name):
    x = np.random.default_rng(1).standard_normal((2, 3, 4))
    for dim in (-1, 0, 1, 2):
        expected = getattr(torch.nn, name)(dim=dim)(torch.tensor(x)).numpy()
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            out = getattr(cr.nn, name)(dim=dim)(cr.tensor(x, dtype="float64"))
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-15)
    assert repr(getattr(cr.nn, name)()) == repr(getattr(torch.nn, name)())


def test_a_model_with_an_implicit_dim_round_trips_through_its_config():
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Softmax(), cr.nn.LogSoftmax(dim=1))
    again = module_from_config(module_to_config(model))
    assert again[1].dim is None and again[2].dim == 1
