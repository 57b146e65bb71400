"""cr.explain through LayerNorm, GroupNorm and batch norm on the batch's statistics: the values
inside the layer are named after it (ln.mean, ln.std, ...; were v4, v10), with the numbers the
layer's formula x̂ = (x − mean) / √(var + eps) gives."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn

X = np.random.default_rng(0).normal(size=(2, 3))


def _rows(report) -> dict:
    return {n["name"]: n for n in report.data["graph"]}


@pytest.mark.parametrize(
    "norm, axis",
    [
        (lambda: nn.LayerNorm(3), -1),
        (lambda: nn.BatchNorm1d(3, track_running_stats=False), 0),
    ],
)
def test_the_layers_inner_values_are_named_with_their_numbers(norm, axis):
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 3), norm(), nn.Linear(3, 1))
    report = cr.explain(model, X, np.zeros((2, 1)), nn.MSELoss(), param="0.weight[0, 0]")
    rows = _rows(report)
    z = np.asarray(rows["0.out"]["values"])
    mean = z.mean(axis=axis, keepdims=True)
    var = ((z - mean) ** 2).mean(axis=axis, keepdims=True)
    assert np.allclose(rows["1.mean"]["values"], mean)
    assert np.allclose(rows["1.var"]["values"], var)
    assert np.allclose(rows["1.std"]["values"], np.sqrt(var + 1e-5))
    assert np.allclose(rows["1.x_hat"]["values"], (z - mean) / np.sqrt(var + 1e-5))
    assert rows["1.eps"]["values"] == pytest.approx(1e-5)
    (chain,) = report.data["chains"]
    divisions = [f for p in chain["paths"] for f in p["factors"] if f["formula"] == "1/b"]
    assert divisions and all(f["refers_to"].startswith("b = 1.std[") for f in divisions)
    assert chain["total"] == pytest.approx(chain["engine_grad"], abs=1e-12)


def test_group_norm_names_its_statistics():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 2), nn.GroupNorm(2, 4), nn.Flatten(), nn.Linear(64, 1))
    image = np.random.default_rng(1).normal(size=(1, 1, 5, 5))
    report = cr.explain(model, image, np.array([[0.3]]), nn.MSELoss())
    assert {"1.mean", "1.var", "1.std", "1.x_hat", "1.centred"} <= set(_rows(report))
