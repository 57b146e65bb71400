"""A weight used twice (tied) and a residual connection, explained and checked against PyTorch:
the layer tables of a tied weight show each layer's share, and the shares add up to .grad."""

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain.blocks import Heading, Table

torch = pytest.importorskip("torch")

X = np.random.default_rng(0).normal(size=(2, 3))
Y = np.random.default_rng(1).normal(size=(2, 3))


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(3, 3)

    def forward(self, x):
        return self.lin(self.lin(x).tanh())


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(3, 3), nn.Linear(3, 3)

    def forward(self, x):
        return self.b(self.a(x).relu()) + x


def _torch_grads(model, forward, n):
    params = {
        name: torch.tensor(np.asarray(p.data, dtype=np.float64), requires_grad=True)
        for name, p in model.named_parameters()
    }
    out = forward(params, torch.from_numpy(X[:n]))
    torch.nn.functional.mse_loss(out, torch.from_numpy(Y[:n])).backward()
    return {name: p.grad.numpy() for name, p in params.items()}


def _tied_torch(p, x):
    def lin(v):
        return v @ p["lin.weight"].T + p["lin.bias"]

    return lin(torch.tanh(lin(x)))


def _residual_torch(p, x):
    h = torch.relu(x @ p["a.weight"].T + p["a.bias"])
    return h @ p["b.weight"].T + p["b.bias"] + x


def _element(grads, name):
    tensor, index = name.split("[")
    return grads[tensor][tuple(int(i) for i in index.rstrip("]").split(","))]


def _layer_tables(report):
    """{layer heading: its parameter table} of the backward section."""
    tables, heading = {}, None
    for block in report.blocks:
        if isinstance(block, Heading):
            heading = block.text
        elif isinstance(block, Table) and heading and heading.startswith("Layer "):
            tables[heading] = block
    return tables


@pytest.mark.parametrize("n", [1, 2])
def test_a_tied_weights_layer_shares_add_up_to_its_gradient(n):
    cr.manual_seed(3)
    model = Tied()
    params = ["lin.weight[1, 2]", "lin.bias[0]"]
    report = cr.explain(model, X[:n], Y[:n], nn.MSELoss(), param=params)
    grads = _torch_grads(model, _tied_torch, n)
    for chain, name in zip(report.data["chains"], params):
        assert chain["total"] == pytest.approx(_element(grads, name), abs=1e-9)
    tables = _layer_tables(report)
    assert set(tables) == {"Layer 1", "Layer 2"}
    shares: dict = {}
    for table in tables.values():
        assert table.header[-1] == "engine .grad (all uses)"
        for row in table.rows:
            shares.setdefault(row[0], []).append(float(row[2].rsplit(" = ", 1)[1]))
            assert float(row[3]) == pytest.approx(_element(grads, row[0]), abs=1e-9)
    for name, parts in shares.items():
        assert len(parts) == 2
        assert sum(parts) == pytest.approx(_element(grads, name), abs=2e-9)  # 9 places each
    text = report.text(width=None).replace("\n", " ")
    assert "lin.weight and lin.bias are used by layers 1 and 2 (a shared weight)" in text


def test_an_untied_network_keeps_its_plain_tables():
    cr.manual_seed(3)
    model = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3))
    report = cr.explain(model, X[:1], Y[:1], nn.MSELoss())
    for table in _layer_tables(report).values():
        assert table.header[-1] == "engine .grad"
        assert all(" = " not in row[2] for row in table.rows)
    assert "shared weight" not in str(report)


@pytest.mark.parametrize("n", [1, 2])
def test_a_residual_connection_is_explained_as_pytorch_computes_it(n):
    cr.manual_seed(3)
    model = Residual()
    params = ["a.weight[2, 1]", "b.weight[2, 2]", "a.bias[2]", "b.bias[0]"]
    report = cr.explain(model, X[:n], Y[:n], nn.MSELoss(), param=params)
    grads = _torch_grads(model, _residual_torch, n)
    for chain, name in zip(report.data["chains"], params):
        assert chain["total"] == pytest.approx(_element(grads, name), abs=1e-9)
        assert chain["engine_grad"] == pytest.approx(_element(grads, name), abs=1e-9)
    for param in report.data["update"]["parameters"]:
        want = np.asarray(param["old"]) - 0.1 * grads[param["name"]]
        np.testing.assert_allclose(param["new"], want, rtol=0, atol=1e-12)
