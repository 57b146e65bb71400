"""An activation or loss with constants (ELU's α, LeakyReLU's slope, Softplus's β, Hardtanh's
bounds, Huber's δ, smooth L1's β) is explained with those constants named, so a reader can
check each printed factor; the factors and the totals agree with PyTorch in float64."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).normal(size=(3, 4))
Y = np.random.default_rng(1).normal(size=(3, 2)) * 3

ACTIVATIONS = [
    (nn.ELU(0.7), torch.nn.ELU(0.7), "ELU (α = 0.7)", "1 if z > 0 else α·e^z, α = 0.7"),
    (nn.LeakyReLU(0.2), torch.nn.LeakyReLU(0.2), "LeakyReLU (a = 0.2)", "else a, a = 0.2"),
    (
        nn.Softplus(beta=2.0),
        torch.nn.Softplus(beta=2.0),
        "Softplus (β = 2, threshold = 20)",
        "(1 where β·z > threshold), β = 2, threshold = 20",
    ),
    # ReLU6 is named as the user wrote it, not as the hardtanh it computes
    (nn.ReLU6(), torch.nn.ReLU6(), "ReLU6", "1 if 0 < z < 6 else 0"),
    (
        nn.Hardtanh(-0.5, 0.5),
        torch.nn.Hardtanh(-0.5, 0.5),
        "Hardtanh (low = -0.5, high = 0.5)",
        "else 0, low = -0.5, high = 0.5",
    ),
    (
        nn.GELU(approximate="tanh"),
        torch.nn.GELU(approximate="tanh"),
        "GELU (approximate = 'tanh')",
        "t = tanh(√(2/π)·(z + 0.044715·z³))",
    ),
]


def _pair(act, torch_act):
    cr.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 5), act, nn.Linear(5, 2))
    twin = torch.nn.Sequential(torch.nn.Linear(4, 5), torch_act, torch.nn.Linear(5, 2)).double()
    with torch.no_grad():
        for (_, p), (_, q) in zip(model.named_parameters(), twin.named_parameters()):
            q.copy_(torch.from_numpy(np.asarray(p.data, dtype=np.float64)))
    return model, twin


def _torch_grads(twin, loss_fn):
    loss = loss_fn(twin(torch.from_numpy(X)), torch.from_numpy(Y))
    loss.backward()
    return loss.item(), dict(twin.named_parameters())


def _element(grads, name):
    tensor, index = name.split("[")
    return grads[tensor].grad[tuple(int(i) for i in index.rstrip("]").split(","))].item()


@pytest.mark.parametrize("act, torch_act, label, formula", ACTIVATIONS)
def test_activation_constants_are_named_and_the_factors_are_pytorchs(
    act, torch_act, label, formula
):
    model, twin = _pair(act, torch_act)
    params = ["0.weight[1, 2]", "0.bias[3]"]
    report = cr.explain(model, X, Y, nn.MSELoss(), param=params)
    text = report.text(width=None)
    assert f"activation {label}" in text
    z = torch.from_numpy(np.asarray(report.data["forward"]["layers"][0]["z"])).requires_grad_()
    torch_act(z).sum().backward()  # every local derivative f'(z) of the hidden layer
    checked = 0
    for chain in report.data["chains"]:
        for path in chain["paths"]:
            for factor in path["factors"]:
                if factor["symbol"].startswith("∂a1["):
                    assert factor["formula"].endswith(formula)
                    b, j = (int(i) for i in factor["symbol"].split("[")[1].split("]")[0].split(","))
                    assert factor["value"] == pytest.approx(z.grad[b, j].item(), abs=1e-12)
                    checked += 1
    assert checked
    _, grads = _torch_grads(twin, torch.nn.functional.mse_loss)
    for chain, name in zip(report.data["chains"], params):
        assert chain["total"] == pytest.approx(_element(grads, name), abs=1e-9)


LOSSES = [
    (nn.HuberLoss(delta=0.5), torch.nn.HuberLoss(delta=0.5), "δ = 0.5"),
    (nn.HuberLoss(reduction="sum"), torch.nn.HuberLoss(reduction="sum"), "δ = 1"),
    (nn.SmoothL1Loss(beta=0.3), torch.nn.SmoothL1Loss(beta=0.3), "β = 0.3"),
    (nn.L1Loss(), torch.nn.L1Loss(), None),
]


@pytest.mark.parametrize("loss_fn, torch_loss, named", LOSSES)
def test_loss_constants_are_named_beside_the_loss_and_its_derivative(loss_fn, torch_loss, named):
    model, twin = _pair(nn.Tanh(), torch.nn.Tanh())
    params = ["0.weight[1, 2]", "2.bias[1]"]
    report = cr.explain(model, X, Y, loss_fn, param=params)
    lines = report.text(width=None).splitlines()
    loss_line = next(line for line in lines if line.startswith("  E = "))
    output_error = next(line for line in lines if line.startswith("  ∂E/∂z2[0, 0] = "))
    count = "n = 6" if loss_fn.reduction == "mean" else None
    expected = ", ".join(c for c in (count, named) if c)
    if not expected:
        assert "(" not in loss_line.split(" = ")[-1]
    else:  # the loss's own 1/n is named too, not only its derivative's
        assert loss_line.endswith(f"   ({expected})")
    assert output_error.endswith(f"   ({expected})") if expected else output_error[-1] != ")"
    value, grads = _torch_grads(twin, torch_loss)
    assert report.data["loss"]["value"] == pytest.approx(value, abs=1e-12)
    for chain, name in zip(report.data["chains"], params):
        assert chain["total"] == pytest.approx(_element(grads, name), abs=1e-9)


def test_op_by_op_factor_names_the_loss_constant():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.LayerNorm(3), nn.Linear(3, 2))
    report = cr.explain(model, X, Y, nn.HuberLoss(delta=0.25), param="2.bias[0]")
    formulas = {f["formula"] for p in report.data["chains"][0]["paths"] for f in p["factors"]}
    assert "(clip(x − t, −δ, δ))/n, n = 6, δ = 0.25" in formulas


def test_relu6_is_named_relu6_everywhere_and_a_saturated_unit_passes_nothing():
    # z of the two hidden units: 7 (above 6: saturated) and 2 (inside: passes)
    model = nn.Sequential(nn.Linear(1, 2), nn.ReLU6(), nn.Linear(2, 1))
    with cr.no_grad():
        model[0].weight.copy_(cr.tensor([[3.0], [1.0]]))
        model[0].bias.copy_(cr.tensor([1.0, 0.0]))
    x, y = np.array([2.0]), np.array([1.0])
    report = cr.explain(model, x, y, nn.MSELoss(), param="0.weight[0, 0]")
    text = report.text(width=None)
    assert "activation ReLU6" in text and "Hardtanh" not in text and "hardtanh" not in text
    assert "[1 if 0 < z < 6 else 0]" in text
    assert "relu6" in {row["op"] for row in report.data["graph"]}
    chain = report.data["chains"][0]
    assert chain["total"] == 0 and not chain["paths"]  # the saturated unit passes no gradient
    z = cr.tensor([3.0, 7.0], requires_grad=True)
    text = cr.trace(cr.functional.relu6(z).sum()).__str__()
    assert "relu6" in text and "hardtanh" not in text
