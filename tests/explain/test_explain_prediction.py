"""cr.explain(model, x) without a target: E is the prediction itself, the predicted class's
score (logit) or a one-output model's output, and its chain rule is PyTorch's gradient of
out[0, k] (a saliency)."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def _pair(outputs: int):
    cr.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, outputs))
    twin = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, outputs)
    ).double()
    twin.load_state_dict(
        {k: torch.tensor(np.asarray(v, dtype=np.float64)) for k, v in model.state_dict().items()}
    )
    return model, twin


def test_a_classifier_explains_its_predicted_class_score():
    model, twin = _pair(3)
    x = np.array([[0.5, -1.0]])
    report = cr.explain(model, x, class_names=["a", "b", "c"], param="0.weight[1, 0]")
    out = twin(torch.tensor(x))
    k = int(out.argmax())
    out[0, k].backward()
    assert report.data["loss"]["value"] == pytest.approx(out[0, k].item(), abs=1e-12)
    (chain,) = report.data["chains"]
    assert chain["total"] == pytest.approx(float(twin[0].weight.grad[1, 0]), abs=1e-12)
    assert report.data["loss"]["formula"] == f"E = o[k], k = {k}"
    assert f"k = argmax(o) = {k} ({'abc'[k]!r})" in " ".join(report.data["notes"])
    assert "target" not in str(report).split("The output explained, E")[1].split("2.")[0]


def test_a_one_output_model_explains_the_output_itself():
    model, twin = _pair(1)
    x = np.array([[1.5, 0.2]])
    report = cr.explain(model, x, param="2.weight[0, 2]")
    out = twin(torch.tensor(x))
    out.sum().backward()
    assert report.data["loss"]["formula"] == "E = o"
    (chain,) = report.data["chains"]
    assert chain["total"] == pytest.approx(float(twin[2].weight.grad[0, 2]), abs=1e-12)


def test_a_batch_sums_each_samples_predicted_score_and_keeps_k_after_the_step():
    model, twin = _pair(3)
    x = np.array([[0.5, -1.0], [-2.0, 1.5], [1.0, 1.0]])
    report = cr.explain(model, x, param="2.bias[1]")
    out = twin(torch.tensor(x))
    ks = out.argmax(dim=1)
    out[torch.arange(3), ks].sum().backward()
    (chain,) = report.data["chains"]
    assert chain["total"] == pytest.approx(float(twin[2].bias.grad[1]), abs=1e-12)
    # the loss after the step scores the classes predicted before it
    with torch.no_grad():
        for p in twin.parameters():
            p -= 0.1 * p.grad
        after = twin(torch.tensor(x))[torch.arange(3), ks].sum()
    assert report.data["loss_after"] == pytest.approx(float(after), abs=1e-12)


def test_a_target_without_a_loss_is_a_clear_error():
    model, _ = _pair(1)
    with pytest.raises(TypeError, match="leave out both y and loss_fn"):
        cr.explain(model, np.array([[1.0, 2.0]]), np.array([[1.0]]))
