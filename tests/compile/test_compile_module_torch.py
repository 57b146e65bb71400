"""cr.compile(model) as torch.compile(model): PyTorch's OptimizedModule wrapper, the model's
own outputs and gradients, its attributes, PyTorch's keywords and decorator form."""

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")


def _pair():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    ours = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def test_the_wrapper_is_torchs_and_runs_the_model():
    ours, theirs = _pair()
    c_ours, c_theirs = cr.compile(ours), torch.compile(theirs, mode="reduce-overhead")
    assert type(c_ours).__name__ == type(c_theirs).__name__ == "OptimizedModule"
    assert list(c_ours.state_dict()) == list(c_theirs.state_dict())  # "_orig_mod." names
    assert c_ours._orig_mod is ours and c_ours._modules["_orig_mod"] is ours
    assert repr(c_ours) == repr(c_theirs)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    out, tout = c_ours(cr.from_numpy(x)), c_theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(
        ours[0].weight.grad.numpy(), theirs[0].weight.grad.numpy(), rtol=1e-5, atol=1e-7
    )
    c_ours.eval()
    assert not ours.training and not ours[0].training
    # the optimizer may take either object's parameters: they are the same tensors
    assert [id(p) for p in c_ours.parameters()] == [id(p) for p in ours.parameters()]


def test_torchs_keywords_and_decorator_form():
    ours, _ = _pair()
    wrapped = cr.compile(fullgraph=True, dynamic=False, mode="max-autotune", backend="inductor")
    assert type(wrapped(ours)).__name__ == "OptimizedModule"
    assert cr.compile(ours, disable=True) is ours
    # a loss function still compiles into chainrule's training step (docs/compile.md)
    step = cr.compile(lambda x: ours(x).sum(), backend="inductor")
    loss = step(cr.ones(2, 3))
    assert ours[0].weight.grad is not None and loss.shape == ()


def test_other_attributes_are_the_models():
    for lib in (cr, torch):
        wrapped = lib.compile(lib.nn.Linear(2, 3))
        assert wrapped.in_features == 2 and wrapped.out_features == 3
        with pytest.raises(AttributeError):
            wrapped.no_such_attribute  # noqa: B018
