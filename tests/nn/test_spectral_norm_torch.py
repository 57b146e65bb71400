"""nn.utils.spectral_norm / remove_spectral_norm (the hook-based form) against PyTorch.

u and v are drawn at random by each library; copied across with the state_dict, the numbers
agree."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _f64(x):
    return cr.tensor(x, dtype="float64")


def _build(torch_cls, cls, args, **kwargs):
    t = torch.nn.utils.spectral_norm(torch_cls(*args).double(), **kwargs)
    c = nn.utils.spectral_norm(cls(*args).double(), **kwargs)
    c.load_state_dict({k: v.detach().numpy() for k, v in t.state_dict().items()})
    return t, c


CASES = [
    (torch.nn.Linear, nn.Linear, (5, 4), (3, 5)),
    (torch.nn.Conv2d, nn.Conv2d, (3, 4, 3), (2, 3, 6, 6)),
    (torch.nn.ConvTranspose2d, nn.ConvTranspose2d, (3, 4, 3), (2, 3, 4, 4)),  # dim 1
    (torch.nn.Conv1d, nn.Conv1d, (2, 3, 4), (2, 2, 9)),
]


@pytest.mark.parametrize("torch_cls, cls, args, x_shape", CASES)
@pytest.mark.parametrize("training", [True, False])
def test_forward_buffers_and_gradients_match_torch(torch_cls, cls, args, x_shape, training):
    t, c = _build(torch_cls, cls, args, n_power_iterations=2)
    assert list(c.state_dict()) == list(t.state_dict())
    assert list(c.state_dict()) == ["bias", "weight_orig", "weight_u", "weight_v"]
    t.train(training)
    c.train(training)
    rng = np.random.default_rng(0)
    x_real, x_fake = rng.normal(size=x_shape), rng.normal(size=x_shape)
    # a GAN discriminator's pattern: two calls, then one backward through both
    loss_t = t(torch.tensor(x_real)).mean() - (t(torch.tensor(x_fake)) ** 2).mean()
    loss_c = c(_f64(x_real)).mean() - (c(_f64(x_fake)) ** 2).mean()
    np.testing.assert_allclose(loss_c.item(), loss_t.item(), rtol=1e-10)
    for name in ("weight_u", "weight_v"):
        np.testing.assert_allclose(
            getattr(c, name).numpy(), getattr(t, name).numpy(), rtol=1e-10, atol=1e-12
        )
    np.testing.assert_allclose(c.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-10)
    loss_t.backward()
    loss_c.backward()
    for name in ("weight_orig", "bias"):
        np.testing.assert_allclose(
            getattr(c, name).grad.numpy(), getattr(t, name).grad.numpy(), rtol=1e-8, atol=1e-12
        )


def test_eval_keeps_u_and_v_and_training_updates_them_in_place():
    layer = nn.utils.spectral_norm(nn.Linear(4, 3))
    u, v = layer.weight_u, layer.weight_v
    before = u.numpy().copy(), v.numpy().copy()
    layer.eval()
    layer(cr.ones(2, 4))
    np.testing.assert_array_equal(u.numpy(), before[0])
    np.testing.assert_array_equal(v.numpy(), before[1])
    layer.train()
    layer(cr.ones(2, 4))
    assert layer.weight_u is u and layer.weight_v is v  # the same buffers, new values
    assert not np.allclose(u.numpy(), before[0])


def test_sigma_converges_to_the_largest_singular_value():
    layer = nn.utils.spectral_norm(nn.Linear(6, 5).double(), n_power_iterations=50)
    layer(_f64(np.ones((1, 6))))
    singular = np.linalg.svd(layer.weight.detach().numpy(), compute_uv=False)
    np.testing.assert_allclose(singular[0], 1.0, rtol=1e-8)


def test_gradient_matches_finite_differences():
    from types import SimpleNamespace

    from chainrule.nn.utils.spectral_norm import SpectralNorm

    rng = np.random.default_rng(1)
    fn = SpectralNorm("weight", dim=1)
    u, v = _f64(rng.normal(size=3)), _f64(rng.normal(size=8))
    weight = cr.tensor(rng.normal(size=(2, 3, 4)), dtype="float64", requires_grad=True)

    def normed(w):
        return fn.compute_weight(SimpleNamespace(weight_orig=w, weight_u=u, weight_v=v), False)

    assert cr.gradcheck(normed, weight)


def test_sequential_with_spectral_norm_matches_torch():
    t = torch.nn.Sequential(
        torch.nn.utils.spectral_norm(torch.nn.Linear(3, 4)),
        torch.nn.LeakyReLU(0.2),
        torch.nn.utils.spectral_norm(torch.nn.Linear(4, 1)),
    ).double()
    c = nn.Sequential(
        nn.utils.spectral_norm(nn.Linear(3, 4)),
        nn.LeakyReLU(0.2),
        nn.utils.spectral_norm(nn.Linear(4, 1)),
    ).double()
    c.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(2).normal(size=(5, 3))
    for _ in range(3):
        out_t, out_c = t(torch.tensor(x)), c(_f64(x))
        np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-10)
    out_t.sum().backward()
    out_c.sum().backward()
    np.testing.assert_allclose(c[0].weight_orig.grad.numpy(), t[0].weight_orig.grad.numpy())


def test_remove_spectral_norm_as_torch():
    t, c = _build(torch.nn.Linear, nn.Linear, (4, 3))
    x = np.ones((1, 4))
    t(torch.tensor(x))
    c(_f64(x))
    torch.nn.utils.remove_spectral_norm(t)
    assert nn.utils.remove_spectral_norm(c) is c
    assert list(c.state_dict()) == list(t.state_dict()) == ["bias", "weight"]
    assert isinstance(c.weight, nn.Parameter)
    np.testing.assert_allclose(c.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-12)


def test_state_dict_loads_into_torch():
    c = nn.utils.spectral_norm(nn.Linear(4, 3).double())
    c(_f64(np.ones((1, 4))))
    t = torch.nn.utils.spectral_norm(torch.nn.Linear(4, 3).double())
    t.load_state_dict({k: torch.from_numpy(v) for k, v in c.state_dict().items()})
    t.eval()
    c.eval()
    x = np.random.default_rng(3).normal(size=(2, 4))
    np.testing.assert_allclose(
        c(_f64(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(), rtol=1e-10
    )


def test_buffers_follow_the_module_dtype():
    layer = nn.utils.spectral_norm(nn.Linear(4, 3))
    assert layer.weight_u.dtype == np.float32
    layer.double()
    assert layer.weight_u.dtype == layer.weight_v.dtype == np.float64
    assert layer(_f64(np.ones((1, 4)))).dtype == np.float64


def test_errors_as_torch():
    layer = nn.utils.spectral_norm(nn.Linear(2, 3))
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks"):
        nn.utils.spectral_norm(layer)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found"):
        nn.utils.remove_spectral_norm(nn.Linear(2, 3))
    with pytest.raises(ValueError, match="n_power_iterations=0"):
        nn.utils.spectral_norm(nn.Linear(2, 3), n_power_iterations=0)
    with pytest.raises(ValueError, match="parameter `bias` is None"):
        nn.utils.spectral_norm(nn.Linear(2, 3, bias=False), name="bias")
    with pytest.raises(KeyError, match="foo"):
        nn.utils.spectral_norm(nn.Linear(2, 3), name="foo")
    fresh = nn.Linear(2, 3)
    with pytest.raises(IndexError, match="out of range"):
        nn.utils.spectral_norm(fresh, dim=2)
    assert list(fresh.state_dict()) == ["weight", "bias"]


def test_a_state_dict_from_before_version_1_is_converted_as_torch():
    # PyTorch 1.0 saved the normalized weight and no weight_v; loading solves for v
    t, c = _build(torch.nn.Conv1d, nn.Conv1d, (2, 3, 4))
    t(torch.ones(1, 2, 6).double())  # a training call: u = normalize(W v) holds
    old = {k: v.clone() for k, v in t.state_dict().items() if k != "weight_v"}
    old["weight"] = t.weight.detach().clone()
    fresh_t = torch.nn.utils.spectral_norm(torch.nn.Conv1d(2, 3, 4).double())
    fresh_t.load_state_dict(old)  # a plain dict: no version metadata, as an old file
    c.load_state_dict({k: v.numpy() for k, v in old.items()})
    np.testing.assert_allclose(c.weight_v.numpy(), fresh_t.weight_v.numpy(), rtol=1e-8)
    fresh_t.eval()
    c.eval()
    x = np.random.default_rng(5).normal(size=(1, 2, 6))
    np.testing.assert_allclose(
        c(_f64(x)).detach().numpy(), fresh_t(torch.tensor(x)).detach().numpy(), rtol=1e-8
    )
    nn.utils.remove_spectral_norm(c)
    assert not c.__dict__.get("_load_state_dict_pre_hooks")


@pytest.mark.parametrize("apply_norm", ["weight_norm", "spectral_norm", "parametrized"])
def test_fit_compile_auto_gives_the_eager_numbers(apply_norm):
    # compile="auto" raised for weight_norm (the hook sets module.weight in forward), and for
    # spectral_norm its check ran the power iteration twice more: other numbers than eager
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 3)).astype("f4")
    y = (x.sum(1, keepdims=True) > 0).astype("f4")
    losses = []
    for compile_mode in (False, "auto"):
        cr.manual_seed(0)
        model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))
        if apply_norm == "parametrized":
            nn.utils.parametrizations.spectral_norm(model[0])
        else:
            with pytest.warns() if apply_norm == "weight_norm" else _no_warning():
                getattr(nn.utils, apply_norm)(model[0])
        opt = cr.optim.SGD(model.parameters(), lr=0.1)
        history = cr.fit(model, (x, y), nn.BCEWithLogitsLoss(), opt, epochs=2, batch_size=8,
                         verbose=0, compile=compile_mode)  # fmt: skip
        losses.append(history.history["loss"])
    assert losses[0] == losses[1]


def _no_warning():
    import contextlib

    return contextlib.nullcontext()
