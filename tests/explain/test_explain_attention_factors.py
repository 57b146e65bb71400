"""cr.explain through nn.MultiheadAttention: a batched matmul's factor names the element of the
other operand it is (was the bare 'grad @ bᵀ'), and the input's sequence-first copy is named as
the input (x[0, 1, 0], was c0[1, 0, 0]); each named element holds the factor's value."""

import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn


class _Attention(nn.Module):
    def __init__(self):
        super().__init__()
        self.att, self.fc = nn.MultiheadAttention(4, 2, batch_first=True), nn.Linear(4, 1)

    def forward(self, x):
        out, _ = self.att(x, x, x)
        return self.fc(out.mean(dim=1))


def _element(report, name: str) -> float:
    base, index = re.fullmatch(r"(.+)\[([\d, ]+)\]", name).groups()
    tensors = [*report.graph.tensors, report._names.x]  # x: read through its copy only
    t = next(t for t in tensors if report._names.tensor(t) == base)
    return float(t.array[tuple(int(v) for v in index.split(","))])


@pytest.mark.parametrize("param", ["att.in_proj_weight[0, 1]", "att.in_proj_weight[9, 2]"])
def test_every_named_factor_of_attention_holds_its_value(param):
    cr.manual_seed(0)
    x = np.random.default_rng(2).normal(size=(1, 3, 4))
    report = cr.explain(_Attention(), x, np.array([[0.2]]), nn.MSELoss(), param=param)
    (chain,) = report.data["chains"]
    matmuls = inputs = 0
    for path in chain["paths"]:
        for f in path["factors"]:
            if f["formula"].startswith("∂(a@b)"):
                letter, element = f["refers_to"].split(" = ")
                assert _element(report, element) == pytest.approx(f["value"], abs=1e-12)
                matmuls += 1
            if f["formula"] == "x":
                element = f["refers_to"].removeprefix("= ")
                assert re.fullmatch(r"x\[0, \d, \d\]", element), element
                assert _element(report, element) == pytest.approx(f["value"], abs=1e-12)
                inputs += 1
    assert matmuls and inputs
    assert chain["total"] == pytest.approx(chain["engine_grad"], abs=1e-12)


def test_attentions_inner_values_are_named_with_their_numbers():
    # were v3, v4, c7, v13, v14: now the layer's q, k, v, scale, scores and weights
    cr.manual_seed(0)
    model = _Attention()
    x = np.random.default_rng(2).normal(size=(1, 3, 4))
    report = cr.explain(model, x, np.array([[0.2]]), nn.MSELoss())
    values = {t: report._names.tensor(t) for t in report.graph.tensors}
    by_name = {name: t.array for t, name in values.items()}
    w = model.att.in_proj_weight.detach().numpy().astype(np.float64)
    b = model.att.in_proj_bias.detach().numpy().astype(np.float64)
    qkv = x.transpose(1, 0, 2) @ w.T + b  # PyTorch's sequence-first packed projection
    for k, name in enumerate(["att.q", "att.k", "att.v"]):
        assert np.allclose(by_name[name], qkv[..., 4 * k : 4 * (k + 1)])
    assert by_name["att.scale"] == pytest.approx(1 / np.sqrt(2))  # 2 heads of 4 features
    assert np.allclose(by_name["att.attn_weights"].sum(axis=-1), 1.0)
    assert "att.scores" in by_name and "att.qkv" in by_name
