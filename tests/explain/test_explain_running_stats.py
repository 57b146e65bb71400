"""cr.explain on a batch-norm layer in evaluation mode: its running statistics are named after
the module's buffers (not c4, c6), the report writes the eval-mode formula with their values, and
the chain through them is PyTorch's gradient."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

X = np.array([[0.5, -1.0]])
Y = np.array([[0.5]])


def _trained_bn_model():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Linear(2, 1))
    model.train()
    model(cr.tensor(np.random.default_rng(0).normal(size=(8, 2))))  # moves the statistics
    return model.eval()


def _torch_grad(model):
    state = {
        k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in model.state_dict().items()
    }
    twin = torch.nn.Sequential(
        torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2), torch.nn.Linear(2, 1)
    ).double()
    twin.load_state_dict(state)
    twin.eval()
    loss = torch.nn.functional.mse_loss(twin(torch.tensor(X)), torch.tensor(Y))
    loss.backward()
    return twin[0].weight.grad.numpy()


def test_running_statistics_are_named_with_their_values_and_formula():
    model = _trained_bn_model()
    report = cr.explain(model, X, Y, nn.MSELoss(), param="0.weight[0, 1]")
    rows = {row["name"]: row for row in report.data["graph"]}
    mean, var = model[1].running_mean.numpy(), model[1].running_var.numpy()
    assert np.allclose(rows["1.running_mean"]["values"], mean[None])
    assert np.allclose(rows["1.inv_std"]["values"], 1 / np.sqrt(var + 1e-5)[None])
    assert not any(name.startswith("c") and name[1:].isdigit() for name in rows)
    text = " ".join(report.data["notes"])
    assert "out = (x − 1.running_mean) · 1.inv_std · 1.weight + 1.bias" in text
    assert "1.inv_std = 1/√(1.running_var + ε), ε = 1e-05" in text
    assert f"1.running_var = [{var[0]:.6g}" in text
    (chain,) = report.data["chains"]
    assert any(
        f["refers_to"] == "b = 1.inv_std[0, 0]" for p in chain["paths"] for f in p["factors"]
    )
    assert chain["total"] == pytest.approx(_torch_grad(model)[0, 1], abs=1e-12)
    # the weight the layer reshaped to (1, 2) is named as itself, not as the reshape's v9[0, 0]
    assert any(f["refers_to"] == "b = 1.weight[0]" for p in chain["paths"] for f in p["factors"])


def test_training_mode_batch_norm_has_no_running_statistics_note():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2, track_running_stats=False))
    report = cr.explain(model, np.array([[0.5, -1.0], [1.0, 2.0]]), np.zeros((2, 2)), nn.MSELoss())
    assert "running_mean" not in report.text(width=None)
