"""explain() on a model with forward hooks: the hooks are part of the call explained (a hook
may change a layer's output), so they run on the float64 copy, and the report says so and how
many times; the user's model keeps its hooks, and the numbers match PyTorch with the same
hooks."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).normal(size=(3, 3))
Y = np.random.default_rng(1).normal(size=(3, 1))


def _model():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 1))


@pytest.mark.parametrize("n", [1, 3])
def test_a_logging_hook_runs_as_often_as_the_report_says(n):
    model = _model()
    calls = []
    model[1].register_forward_hook(lambda m, args, out: calls.append((m, out.dtype)))
    report = cr.explain(model, X[:n], Y[:n], nn.MSELoss())
    runs = 2 + (n if n > 1 else 0)  # explained, loss after the step, each sample alone
    assert len(calls) == runs
    note = report.data["notes"][0]
    assert note.startswith(f"The model's forward hooks (on 1) ran {runs} times")
    assert note in report.text(width=None).replace("\n", " ")
    assert all(m is not model[1] and dtype == np.float64 for m, dtype in calls)  # the copy
    calls.clear()
    model(cr.tensor(X))  # the model keeps its hook, and runs it once per call
    assert len(calls) == 1


def test_no_hook_no_note_and_a_removed_hook_none_either():
    model = _model()
    handle = model[0].register_forward_pre_hook(lambda m, args: None)
    handle.remove()
    report = cr.explain(model, X[:1], Y[:1], nn.MSELoss())
    assert "notes" not in report.data


def _torch_twin(model):
    twin = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)
    ).double()
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
            q.copy_(torch.from_numpy(np.asarray(p.data, dtype=np.float64)))
    return twin


def test_hooks_that_change_the_numbers_are_explained_as_pytorch_computes_them():
    model = _model()
    twin = _torch_twin(model)
    calls = []

    def shift(module, args):
        calls.append(module)
        return (args[0] - 0.5,)

    for net in (model, twin):
        net[1].register_forward_hook(lambda m, args, out: out * 2)
        net[0].register_forward_pre_hook(shift)
    params = ["0.weight[2, 1]", "0.bias[3]", "2.weight[0, 2]"]
    report = cr.explain(model, X, Y, nn.MSELoss(), param=params)
    loss = torch.nn.functional.mse_loss(twin(torch.from_numpy(X)), torch.from_numpy(Y))
    loss.backward()
    assert report.data["loss"]["value"] == pytest.approx(loss.item(), abs=1e-12)
    grads = dict(twin.named_parameters())
    for chain, name in zip(report.data["chains"], params):
        tensor, index = name.split("[")
        index = tuple(int(i) for i in index.rstrip("]").split(","))
        want = grads[tensor].grad[index].item()
        assert chain["total"] == pytest.approx(want, abs=1e-9)
        assert chain["engine_grad"] == pytest.approx(want, abs=1e-9)
    runs = len(calls) - 1  # less PyTorch's call
    assert f"(on 0, on 1) ran {runs} times" in report.data["notes"][0]
