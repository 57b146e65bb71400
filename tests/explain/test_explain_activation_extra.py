"""cr.explain through PReLU, Mish, Hardswish and Threshold: every factor has its op's formula,
the letters are named (a the input, b PReLU's slope), and the product of the factors is the
engine's gradient."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

X = np.array([[0.5, -1.0], [1.5, 0.2]])
Y = np.array([[1.0], [0.0]])


@pytest.mark.parametrize(
    "param, prelu_formula",
    [("0.weight[0, 1]", "1 if a > 0 else b"), ("1.weight[1]", "0 if a > 0 else a")],
)
def test_every_factor_has_its_formula_and_the_chain_is_the_engines_gradient(param, prelu_formula):
    cr.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 3), nn.PReLU(3), nn.Mish(), nn.Hardswish(), nn.Linear(3, 1)
    ).double()
    model[1].weight.data[...] = np.array([0.1, -0.4, 0.7])
    report = cr.explain(model, X, Y, nn.MSELoss(), param=param)
    (chain,) = report.data["chains"]
    factors = [f for p in chain["paths"] for f in p["factors"]]
    assert factors and all("?" not in f["formula"] for f in factors)
    assert chain["total"] == pytest.approx(chain["engine_grad"], abs=1e-12)
    assert any(f["formula"].startswith(prelu_formula) for f in factors)
    assert any(f["formula"].startswith("t + z·(1 − t²)·σ(z)") for f in factors)


def test_threshold_names_its_constants():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 2), nn.Threshold(-5.0, 2.0), nn.Linear(2, 1)).double()
    report = cr.explain(model, X[:1], Y[:1], nn.MSELoss())
    assert "threshold = -5, value = 2" in report.text(width=None)
