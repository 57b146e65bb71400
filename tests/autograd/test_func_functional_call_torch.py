"""func.functional_call against torch.func.functional_call: values and gradients through the
given tensors, buffers, tied weights, strict names, and the module restored afterwards."""

import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.func import functional_call

torch = pytest.importorskip("torch")


def _pair():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)
    )
    theirs = theirs.double()
    ours = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.BatchNorm1d(4), cr.nn.Linear(4, 2))
    ours = ours.to(cr.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _state(lib, model, scale):
    return {
        k: (v.detach() * scale if v.dtype.is_floating_point else v.detach()).requires_grad_(
            v.dtype.is_floating_point and k.endswith(("weight", "bias"))
        )
        if lib is torch
        else (
            cr.from_numpy(np.asarray(v) * scale)
            if np.asarray(v).dtype.kind == "f"
            else cr.from_numpy(np.asarray(v).copy())
        ).requires_grad_(np.asarray(v).dtype.kind == "f" and k.endswith(("weight", "bias")))
        for k, v in model.state_dict().items()
    }


def test_values_gradients_and_buffers_match_torch_and_the_module_is_restored():
    ours, theirs = _pair()
    before = {k: np.array(v) for k, v in ours.state_dict().items()}
    p_ours, p_theirs = _state(cr, ours, 0.5), _state(torch, theirs, 0.5)
    x = np.random.default_rng(0).standard_normal((5, 3))
    out = functional_call(ours, p_ours, (cr.from_numpy(x),))
    tout = torch.func.functional_call(theirs, p_theirs, (torch.from_numpy(x),))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    c = np.random.default_rng(1).standard_normal((5, 2))
    (out * cr.from_numpy(c)).pow(2).sum().backward()
    (tout * torch.from_numpy(c)).pow(2).sum().backward()
    for k, v in p_theirs.items():
        if v.grad is not None:
            np.testing.assert_allclose(
                p_ours[k].grad.numpy(), v.grad.numpy(), rtol=1e-11, atol=1e-12, err_msg=k
            )
        # BatchNorm in training mode updated the running statistics it was given
        np.testing.assert_allclose(
            p_ours[k].detach().numpy(), v.detach().numpy(), rtol=1e-12, err_msg=k
        )
    for k, v in ours.state_dict().items():  # the module's own state is as before
        np.testing.assert_array_equal(v, before[k], err_msg=k)
    assert ours[0].weight.grad is None


def test_tied_weights_strict_and_errors_as_torch():
    for lib, fc in ((cr, functional_call), (torch, torch.func.functional_call)):
        first, second = lib.nn.Linear(2, 2, bias=False), lib.nn.Linear(2, 2, bias=False)
        second.weight = first.weight  # one parameter under two names
        model = lib.nn.Sequential(first, second)
        w = lib.eye(2, dtype=lib.float64 if lib is torch else "float64") * 2
        model = model.to(cr.float64) if lib is cr else model.double()
        x = lib.ones(1, 2, dtype=w.dtype)
        # one name of a tied tensor sets both uses
        assert fc(model, {"0.weight": w}, (x,)).tolist() == [[4.0, 4.0]]
        # untied: the other layer keeps its own weight
        untied = fc(model, {"0.weight": w}, (x,), tie_weights=False)
        assert untied.tolist() != [[4.0, 4.0]]
        with pytest.raises(ValueError, match="which are tied"):
            fc(model, {"0.weight": w, "1.weight": w * 3}, (x,))
        with pytest.raises(RuntimeError, match="Missing key"):
            fc(lib.nn.Linear(2, 2).double(), {"weight": w}, (x,), strict=True)
        with pytest.raises(RuntimeError, match="Unexpected key"):
            fc(lib.nn.Linear(2, 2), {"weight": w, "bias": w[0], "extra": w}, (x,), strict=True)
        with pytest.raises(ValueError, match="appeared in multiple dictionaries"):
            fc(lib.nn.Linear(2, 2), ({"weight": w}, {"weight": w}), (x,))


def test_the_module_is_restored_when_the_call_raises():
    model = cr.nn.Linear(2, 2)
    weight = model.weight
    with pytest.raises(cr.ShapeError):
        functional_call(model, {"weight": cr.ones(2, 2)}, (cr.ones(1, 3),))
    assert model.weight is weight and "weight" in model._parameters


def test_a_non_tensor_value_is_refused_with_its_name():
    with pytest.raises(TypeError, match="'weight' is a ndarray, not a tensor"):
        functional_call(cr.nn.Linear(2, 2), {"weight": np.ones((2, 2))}, (cr.ones(1, 2),))


def test_the_stateless_spelling_warns_as_torch():
    model = cr.nn.Linear(2, 1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = cr.nn.utils.stateless.functional_call(
            model, {"weight": cr.zeros(1, 2), "bias": cr.ones(1)}, cr.ones(3, 2)
        )
    assert out.tolist() == [[1.0], [1.0], [1.0]]
    assert any(issubclass(w.category, FutureWarning) for w in caught)
