"""cr.compile(model) as torch.compile(model): PyTorch's OptimizedModule wrapper, the model's
own outputs and gradients, its attributes, PyTorch's keywords and decorator form.

torch.compile is called in a child process: its first use patches PyTorch for the rest of the
process (it turns off torch.distributions' argument checks, for one), which would change what
other tests in this worker see."""

import json
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr

torch = pytest.importorskip("torch")

_TORCH_FACTS = """
import json, torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
wrapped = torch.compile(model, mode="reduce-overhead")
linear = torch.compile(torch.nn.Linear(2, 3))
try:
    linear.no_such_attribute
    missing = "none"
except AttributeError:
    missing = "AttributeError"
print(json.dumps({
    "type": type(wrapped).__name__,
    "keys": list(wrapped.state_dict()),
    "repr": repr(wrapped),
    "same_params": [id(p) for p in wrapped.parameters()] == [id(p) for p in model.parameters()],
    "orig": wrapped._orig_mod is model,
    "features": [linear.in_features, linear.out_features],
    "missing": missing,
}))
"""


@pytest.fixture(scope="module")
def torch_facts():
    out = subprocess.run(
        [sys.executable, "-c", _TORCH_FACTS], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _model():
    return cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ReLU(), cr.nn.Linear(4, 2))


def test_the_wrapper_is_torchs(torch_facts):
    model = _model()
    wrapped = cr.compile(model, mode="reduce-overhead")
    assert type(wrapped).__name__ == torch_facts["type"] == "OptimizedModule"
    assert list(wrapped.state_dict()) == torch_facts["keys"]  # "_orig_mod." names
    assert repr(wrapped) == torch_facts["repr"]
    assert (wrapped._orig_mod is model) is torch_facts["orig"] is True
    same = [id(p) for p in wrapped.parameters()] == [id(p) for p in model.parameters()]
    assert same is torch_facts["same_params"] is True
    linear = cr.compile(cr.nn.Linear(2, 3))
    assert [linear.in_features, linear.out_features] == torch_facts["features"]
    with pytest.raises(AttributeError):
        linear.no_such_attribute  # noqa: B018
    assert torch_facts["missing"] == "AttributeError"


def test_the_wrapper_runs_the_model_with_torchs_numbers():
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    model = _model()
    model.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    wrapped = cr.compile(model)
    x = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    out, tout = wrapped(cr.from_numpy(x)), theirs(torch.from_numpy(x))
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-6)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(
        model[0].weight.grad.numpy(), theirs[0].weight.grad.numpy(), rtol=1e-5, atol=1e-7
    )
    wrapped.eval()
    assert not model.training and not model[0].training


def test_torchs_keywords_and_decorator_form():
    model = _model()
    wrapped = cr.compile(fullgraph=True, dynamic=False, mode="max-autotune", backend="inductor")
    assert type(wrapped(model)).__name__ == "OptimizedModule"
    assert cr.compile(model, disable=True) is model
    # a loss function still compiles into chainrule's training step (docs/compile.md)
    step = cr.compile(lambda x: model(x).sum(), backend="inductor")
    loss = step(cr.ones(2, 3))
    assert model[0].weight.grad is not None and loss.shape == ()
