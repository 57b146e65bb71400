"""nn.utils.parametrize and nn.utils.parametrizations (weight_norm, spectral_norm) against
PyTorch: state_dict keys, forward, gradients, remove_parametrizations, cached, load hooks."""

import copy
import pickle
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.nn.utils import parametrizations, parametrize

torch = pytest.importorskip("torch")


def _f64(x):
    return cr.tensor(x, dtype="float64")


CASES = [
    (torch.nn.Linear, nn.Linear, (5, 4), (3, 5)),
    (torch.nn.Conv2d, nn.Conv2d, (3, 4, 3), (2, 3, 6, 6)),
    (torch.nn.ConvTranspose1d, nn.ConvTranspose1d, (3, 2, 4), (2, 3, 6)),
]


@pytest.mark.parametrize("which", ["weight_norm", "spectral_norm"])
@pytest.mark.parametrize("torch_cls, cls, args, x_shape", CASES)
def test_parametrizations_match_torch(which, torch_cls, cls, args, x_shape):
    t = getattr(torch.nn.utils.parametrizations, which)(torch_cls(*args).double())
    c = getattr(parametrizations, which)(cls(*args).double())
    assert type(c).__name__ == type(t).__name__ == f"Parametrized{cls.__name__}"
    assert list(c.state_dict()) == list(t.state_dict())
    c.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).normal(size=x_shape)
    for _ in range(2):  # spectral_norm: power iteration on each call, in training mode
        out_t, out_c = t(torch.tensor(x)), c(_f64(x))
    np.testing.assert_allclose(out_c.detach().numpy(), out_t.detach().numpy(), rtol=1e-10)
    (out_t**2).sum().backward()
    (out_c**2).sum().backward()
    grads = {k: p.grad for k, p in c.named_parameters()}
    for name, param in t.named_parameters():
        np.testing.assert_allclose(grads[name].numpy(), param.grad.numpy(), rtol=1e-8, atol=1e-12)
    torch.nn.utils.parametrize.remove_parametrizations(t, "weight")
    parametrize.remove_parametrizations(c, "weight")
    assert type(c) is cls
    assert list(c.state_dict()) == list(t.state_dict())
    np.testing.assert_allclose(c.weight.detach().numpy(), t.weight.detach().numpy(), rtol=1e-10)


def test_old_weight_norm_state_dict_loads_into_the_parametrization():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        old = nn.utils.weight_norm(nn.Linear(3, 2))
    new = parametrizations.weight_norm(nn.Linear(3, 2))
    state = old.state_dict()
    assert repr(new.load_state_dict(state)) == "<All keys matched successfully>"
    assert "weight_g" in state  # the caller's dict is left as it was
    np.testing.assert_array_equal(new.weight.detach().numpy(), old.weight.detach().numpy())


def test_a_custom_parametrization_with_right_inverse_and_assignment():
    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).T

        def right_inverse(self, A):
            return A.triu()

    layer = parametrize.register_parametrization(nn.Linear(3, 3).double(), "weight", Symmetric())
    weight = layer.weight.detach().numpy()
    np.testing.assert_array_equal(weight, weight.T)
    target = np.arange(9.0).reshape(3, 3)
    layer.weight = _f64(target + target.T)  # the setter runs right_inverse
    np.testing.assert_array_equal(layer.weight.detach().numpy(), target + target.T)
    assert parametrize.is_parametrized(layer) and parametrize.is_parametrized(layer, "weight")
    assert not parametrize.is_parametrized(layer, "bias")
    assert parametrize.type_before_parametrizations(layer) is nn.Linear


def test_cached_computes_once_and_errors_as_torch():
    layer = parametrizations.weight_norm(nn.Linear(3, 2))
    assert layer.weight is not layer.weight
    with parametrize.cached():
        assert layer.weight is layer.weight
    with pytest.raises(RuntimeError, match="only supported through state_dict"):
        pickle.dumps(layer)
    replica = copy.deepcopy(layer)
    np.testing.assert_array_equal(replica.weight.detach().numpy(), layer.weight.detach().numpy())
    with pytest.raises(ValueError, match="does not have a parametrization on bias"):
        parametrize.remove_parametrizations(layer, "bias")
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        parametrize.remove_parametrizations(layer, "weight", leave_parametrized=False)
    with pytest.raises(ValueError, match="does not have a parameter, a buffer"):
        parametrize.register_parametrization(nn.Linear(2, 2), "foo", nn.Identity())
    with pytest.raises(ValueError, match="may not change the shape"):
        parametrize.register_parametrization(nn.Linear(2, 3), "weight", nn.Flatten(0))


def test_sequential_fast_path_leaves_a_parametrized_linear_to_its_property():
    model = nn.Sequential(parametrizations.weight_norm(nn.Linear(3, 2)), nn.Tanh())
    x = cr.ones(4, 3)
    model[0].parametrizations.weight.original0.array *= 3  # the magnitude triples
    weight, bias = model[0].weight.detach().numpy(), model[0].bias.detach().numpy()
    expected = np.tanh(x.numpy() @ weight.T + bias)
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-6)


def test_cr_save_refuses_a_parametrized_layer_with_the_way_out(tmp_path):
    model = nn.Sequential(parametrizations.spectral_norm(nn.Linear(3, 2)))
    with pytest.raises(cr.ModelFormatError, match="parametrizations.*remove_parametrizations"):
        cr.save(model, tmp_path / "model.safetensors")


def test_load_state_dict_pre_hook_as_torch():
    seen = []

    def rename(module, state_dict, prefix, *_):
        seen.append(prefix)
        state_dict[prefix + "weight"] = state_dict.pop(prefix + "w")

    model = nn.Sequential(nn.Linear(2, 2, bias=False))
    handle = model[0].register_load_state_dict_pre_hook(rename)
    model.load_state_dict({"0.w": np.eye(2, dtype=np.float32)})
    np.testing.assert_array_equal(model[0].weight.detach().numpy(), np.eye(2))
    assert seen == ["0."]
    handle.remove()
    with pytest.raises(cr.errors.StateDictError, match="unexpected keys"):
        model.load_state_dict({"0.w": np.eye(2, dtype=np.float32)})


def test_orthogonal_says_it_is_not_implemented():
    with pytest.raises(cr.errors.NotSupportedError, match="orthogonal is not implemented"):
        parametrizations.orthogonal(nn.Linear(3, 3))
