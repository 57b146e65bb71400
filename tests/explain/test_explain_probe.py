"""cr.explain for batches whose loss does not weigh the samples equally: every number the
per-sample section states must be the gradient the engine (and PyTorch) computes."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")


def small_net():
    cr.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 3))


def torch_grad(model, x, y, loss_t, name):
    twin = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 3)
    ).double()
    with torch.no_grad():
        for n, p in twin.named_parameters():
            p.copy_(torch.tensor(np.asarray(model.get_parameter(n).data, np.float64)))
    loss_t(twin(torch.tensor(x)), torch.tensor(y)).backward()
    return twin.get_parameter(name).grad.numpy()


LOSSES = [
    (
        "class-weights",
        lambda: nn.CrossEntropyLoss(weight=cr.tensor([1.0, 2.0, 5.0], dtype="float64")),
        lambda: torch.nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 5.0]).double()),
    ),
    (
        "ignore-index",
        lambda: nn.CrossEntropyLoss(ignore_index=1),
        lambda: torch.nn.CrossEntropyLoss(ignore_index=1),
    ),
]


@pytest.mark.parametrize("case", LOSSES, ids=[c[0] for c in LOSSES])
def test_unequally_weighted_batch_states_no_wrong_combination(case):
    _, loss_cr, loss_t = case
    model = small_net()
    x = np.random.default_rng(0).normal(size=(4, 2))
    y = np.array([0, 2, 1, 2])
    report = cr.explain(model, x, y, loss_cr(), param=["0.bias[1]", "0.weight[2, 0]"])
    for chain in report.data["chains"]:
        name, idx = chain["param"].split("[")
        idx = tuple(int(i) for i in idx.rstrip("]").split(", "))
        expected = torch_grad(model, x, y, loss_t(), name)[idx]
        assert chain["total"] == pytest.approx(expected, abs=1e-10)
        per = chain["per_sample"]
        assert sum(per["contributions"]) == pytest.approx(expected, abs=1e-10)
        # neither the mean nor the sum of the samples alone is the gradient here
        alone = np.array(per["engine_per_sample"])
        assert abs(alone.mean() - expected) > 1e-6 and abs(alone.sum() - expected) > 1e-6
        assert per["combined_by"] is None
    text = str(report)
    assert "of the per-sample gradients =" not in text
    assert "weigh" in text  # says why the samples alone do not add up to the gradient
