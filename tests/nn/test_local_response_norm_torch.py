"""nn.LocalResponseNorm and F.local_response_norm against torch: values, gradients (first and
second order), finite differences, reprs and errors."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

TOL = {"float64": {"rtol": 1e-10, "atol": 1e-12}, "float32": {"rtol": 1e-5, "atol": 1e-6}}
SHAPES = [(3, 5, 4), (2, 6, 3, 4), (2, 4, 2, 3, 2)]
SETTINGS = [
    {"size": 1},
    {"size": 2},
    {"size": 3, "alpha": 0.5, "beta": 0.6, "k": 2.0},
    {"size": 5, "alpha": 1.0},
    {"size": 9, "alpha": 0.3, "beta": 1.2},  # wider than the channels
]


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * 2.0


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: f"size{s['size']}")
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{len(s)}d")
def test_matches_torch_values_and_input_gradient(shape, settings, dtype):
    x = _x(shape).astype(dtype)
    ours_x = cr.tensor(x, dtype=dtype, requires_grad=True)
    theirs_x = torch.tensor(x, requires_grad=True)
    out = nn.LocalResponseNorm(**settings)(ours_x)
    expected = torch.nn.LocalResponseNorm(**settings)(theirs_x)
    np.testing.assert_allclose(out.detach().numpy(), expected.detach().numpy(), **TOL[dtype])
    upstream = _x(shape, seed=1).astype(dtype)
    (out * cr.tensor(upstream, dtype=dtype)).sum().backward()
    expected.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(ours_x.grad.numpy(), theirs_x.grad.numpy(), **TOL[dtype])


def test_second_order_gradient_matches_torch():
    x, upstream, probe = _x((2, 5, 3)), _x((2, 5, 3), seed=1), _x((2, 5, 3), seed=2)
    grads = []
    for lib in (cr, torch):
        xt = lib.tensor(x, dtype=lib.float64, requires_grad=True)
        out = lib.nn.functional.local_response_norm(xt, 3, alpha=0.5, k=1.5)
        (grad_x,) = lib.autograd.grad(
            (out * lib.tensor(upstream, dtype=lib.float64)).sum(), [xt], create_graph=True
        )
        (grad_x * lib.tensor(probe, dtype=lib.float64)).sum().backward()
        grads.append(xt.grad.numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-9, atol=1e-10)


def test_finite_differences_agree():
    x = cr.tensor(_x((2, 4, 3)), dtype="float64", requires_grad=True)
    assert cr.gradcheck(lambda t: nn.functional.local_response_norm(t, 3, alpha=0.7), x)


def test_empty_input_is_returned_as_torch_does():
    assert nn.LocalResponseNorm(3)(cr.ones(2, 0, 3)).shape == (2, 0, 3)


@pytest.mark.parametrize("args", [(2,), (3, 1e-3, 0.5, 2.0), (2, 1e-4, 0.75, 2)])
def test_repr_matches_torch(args):
    assert repr(nn.LocalResponseNorm(*args)) == repr(torch.nn.LocalResponseNorm(*args))
    assert list(nn.LocalResponseNorm(*args).state_dict()) == []


def test_bad_input_is_refused_naming_the_problem():
    for lib in (torch, cr):
        with pytest.raises(ValueError, match=r"3D or higher dimensionality\s+input"):
            lib.nn.LocalResponseNorm(2)(lib.ones(2, 3))
    with pytest.raises(ValueError, match="size must be an integer >= 1"):
        nn.LocalResponseNorm(0)  # torch: "kernel size should be greater than zero" on use
    with pytest.raises(ValueError, match="beta must be a finite number"):
        nn.LocalResponseNorm(2, beta=float("nan"))


def test_cr_save_and_load_rebuild_it(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LocalResponseNorm(3, alpha=0.5, beta=0.6, k=2.0))
    cr.save(model, tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    assert repr(loaded) == repr(model)
    x = cr.randn(2, 3, 6, 6)
    np.testing.assert_array_equal(loaded(x).detach().numpy(), model(x).detach().numpy())
