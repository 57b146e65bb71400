"""nn.utils.weight_norm / remove_weight_norm (the hook-based form) against PyTorch."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return fn(*args, **kwargs)


def _f64(x):
    return cr.tensor(x, dtype="float64")


def _copy_state(torch_module, module):
    module.load_state_dict({k: v.detach().numpy() for k, v in torch_module.state_dict().items()})


def _build(torch_cls, cls, args, **kwargs):
    t = _quiet(torch.nn.utils.weight_norm, torch_cls(*args).double(), **kwargs)
    c = _quiet(nn.utils.weight_norm, cls(*args).double(), **kwargs)
    _copy_state(t, c)
    return t, c


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3, None])
def test_conv1d_forward_gradients_and_keys_match_torch(dim):
    t, c = _build(torch.nn.Conv1d, nn.Conv1d, (2, 3, 4), dim=dim)
    assert list(c.state_dict()) == list(t.state_dict()) == ["bias", "weight_g", "weight_v"]
    assert c.weight_g.shape == tuple(t.weight_g.shape)
    x = np.random.default_rng(0).normal(size=(5, 2, 7))
    out_t, out_c = t(torch.tensor(x)), c(_f64(x))
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-10)
    (out_t**2).sum().backward()
    (out_c**2).sum().backward()
    for name in ("weight_g", "weight_v", "bias"):
        got, want = getattr(c, name).grad.numpy(), getattr(t, name).grad.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


def test_init_keeps_the_weight_and_g_holds_the_norms():
    layer = nn.Linear(4, 3)
    before = layer.weight.detach().numpy().copy()
    _quiet(nn.utils.weight_norm, layer)
    np.testing.assert_allclose(layer.weight.detach().numpy(), before, rtol=1e-6)
    np.testing.assert_allclose(
        layer.weight_g.detach().numpy()[:, 0], np.linalg.norm(before, axis=1), rtol=1e-6
    )
    assert [n for n, _ in layer.named_parameters()] == ["bias", "weight_g", "weight_v"]


@pytest.mark.parametrize("dim", [0, 1, None])
def test_gradients_match_finite_differences(dim):
    from types import SimpleNamespace

    from chainrule.nn.utils.weight_norm import WeightNorm

    rng = np.random.default_rng(1)
    fn = WeightNorm("weight", dim)
    g = cr.tensor(
        rng.normal(size=(3, 1) if dim == 0 else (1, 4) if dim == 1 else ()), requires_grad=True
    )
    v = cr.tensor(rng.normal(size=(3, 4)), requires_grad=True)
    assert cr.gradcheck(
        lambda g, v: fn.compute_weight(SimpleNamespace(weight_g=g, weight_v=v)), g, v
    )


def test_training_step_moves_g_and_v_as_torch():
    t, c = _build(torch.nn.Linear, nn.Linear, (3, 2))
    opt_t = torch.optim.SGD(t.parameters(), lr=0.1)
    opt_c = cr.optim.SGD(c.parameters(), lr=0.1)
    x = np.random.default_rng(2).normal(size=(6, 3))
    for _ in range(3):
        for model, opt, wrap in ((t, opt_t, torch.tensor), (c, opt_c, _f64)):
            opt.zero_grad()
            (model(wrap(x)) ** 2).mean().backward()
            opt.step()
    for name in ("weight_g", "weight_v", "bias"):
        np.testing.assert_allclose(
            getattr(c, name).detach().numpy(), getattr(t, name).detach().numpy(), rtol=1e-10
        )


def test_sequential_with_a_weight_normed_linear_matches_torch():
    layers_t = [torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)]
    layers_c = [nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1)]
    _quiet(torch.nn.utils.weight_norm, layers_t[0])
    _quiet(nn.utils.weight_norm, layers_c[2])
    _quiet(torch.nn.utils.weight_norm, layers_t[2])
    _quiet(nn.utils.weight_norm, layers_c[0])
    t = torch.nn.Sequential(*layers_t).double()
    c = nn.Sequential(*layers_c).double()
    _copy_state(t, c)
    x = np.random.default_rng(3).normal(size=(5, 3))
    for _ in range(2):  # the second call must see the new weight, not a stale one
        out_t, out_c = t(torch.tensor(x)), c(_f64(x))
        np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-10)
        out_t.sum().backward()
        out_c.sum().backward()
        np.testing.assert_allclose(c[0].weight_v.grad.numpy(), t[0].weight_v.grad.numpy())
        with torch.no_grad():
            t[0].weight_g.mul_(2)
        c[0].weight_g.array *= 2


def test_remove_weight_norm_gives_one_parameter_as_torch():
    t, c = _build(torch.nn.Conv1d, nn.Conv1d, (2, 3, 4))
    with torch.no_grad():
        t.weight_g.mul_(3)
    c.weight_g.array *= 3
    torch.nn.utils.remove_weight_norm(t)
    assert nn.utils.remove_weight_norm(c) is c
    assert list(c.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    assert isinstance(c.weight, nn.Parameter)
    np.testing.assert_allclose(c.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-12)
    x = cr.tensor(np.ones((1, 2, 5)), dtype="float64")
    np.testing.assert_allclose(c(x).detach().numpy(), t(torch.ones(1, 2, 5).double()).detach())


def test_state_dict_round_trip_between_the_two():
    t, c = _build(torch.nn.Linear, nn.Linear, (3, 2))
    c.weight_v.array[...] += 1.0
    t.load_state_dict({k: torch.from_numpy(v) for k, v in c.state_dict().items()})
    x = np.random.default_rng(4).normal(size=(2, 3))
    np.testing.assert_allclose(
        c(_f64(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-10
    )


def test_future_warning_as_torch():
    with pytest.warns(FutureWarning, match="weight_norm` is deprecated"):
        nn.utils.weight_norm(nn.Linear(2, 2))


def test_errors_as_torch():
    layer = _quiet(nn.utils.weight_norm, nn.Linear(2, 3))
    with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks"):
        _quiet(nn.utils.weight_norm, layer)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found"):
        nn.utils.remove_weight_norm(nn.Linear(2, 3))
    with pytest.raises(AttributeError, match="foo"):
        _quiet(nn.utils.weight_norm, nn.Linear(2, 3), name="foo")
    with pytest.raises(ValueError, match="uninitialized"):
        _quiet(nn.utils.weight_norm, nn.LazyLinear(3))
    fresh = nn.Conv1d(2, 3, 4)
    with pytest.raises(IndexError, match="Dimension out of range"):
        _quiet(nn.utils.weight_norm, fresh, dim=3)
    assert list(fresh.state_dict()) == ["weight", "bias"]  # a bad dim changes nothing


def test_weight_norm_on_a_named_parameter_other_than_weight():
    t, c = _build(torch.nn.Linear, nn.Linear, (3, 2), name="bias")
    assert list(c.state_dict()) == list(t.state_dict()) == ["weight", "bias_g", "bias_v"]
    x = np.random.default_rng(5).normal(size=(2, 3))
    np.testing.assert_allclose(
        c(_f64(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-10
    )


@pytest.mark.parametrize("apply_norm", ["weight_norm", "spectral_norm"])
def test_cr_save_refuses_a_reparametrized_layer_with_the_way_out(tmp_path, apply_norm):
    # the file's architecture cannot hold the hook: saving used to succeed and cr.load then
    # failed with "weights do not fit the architecture"
    model = nn.Sequential(
        nn.Linear(2, 3), nn.Tanh(), _quiet(getattr(nn.utils, apply_norm), nn.Linear(3, 1))
    )
    with pytest.raises(cr.ModelFormatError, match=f"{apply_norm} on 'weight'.*remove_{apply_norm}"):
        cr.save(model, tmp_path / "model.safetensors")
    assert not (tmp_path / "model.safetensors").exists()
    getattr(nn.utils, f"remove_{apply_norm}")(model[2])
    cr.save(model, tmp_path / "model.safetensors")
    loaded = cr.load(tmp_path / "model.safetensors")
    np.testing.assert_allclose(loaded[2].weight.detach().numpy(), model[2].weight.detach().numpy())
