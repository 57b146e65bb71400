"""The two layers of an explanation: the data model the numbers layer computes (its JSON round
trip, the update as the real optimizer's step on a float64 twin), the explicit context, and the
import graph of chainrule.explain (no circles)."""

import ast
import copy
import json
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn, optim
from chainrule.explain import examples, explain, explain_graph, trace
from chainrule.explain.context import ExplainContext
from chainrule.explain.datamodel import Explanation, Trace

EXPLAIN_DIR = Path(__file__).resolve().parents[2] / "src" / "chainrule" / "explain"


def small_model(seed=1):
    cr.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))


def twin_after_sgd(model, x, y, loss_fn, lr):
    """The float64 twin stepped by optim.SGD, and its loss after the step: without explain."""
    twin = copy.deepcopy(model).double()
    twin.eval()
    loss = loss_fn(twin(cr.tensor(x, dtype="float64")), cr.tensor(y, dtype="float64"))
    loss.backward()
    optim.SGD(twin.parameters(), lr=lr).step()
    with cr.no_grad():
        after = loss_fn(twin(cr.tensor(x, dtype="float64")), cr.tensor(y, dtype="float64"))
    return twin, float(after.item())


def test_update_is_the_real_optimizers_step_on_the_float64_twin():
    model = small_model()
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(3, 3)), rng.normal(size=(3, 2))
    report = explain(model, x, y, nn.MSELoss(), lr=0.3)
    twin, after = twin_after_sgd(model, x, y, nn.MSELoss(), 0.3)
    params = dict(twin.named_parameters())
    rows = report.explanation.update.parameters
    assert [r.name for r in rows] == list(params)
    for row in rows:
        np.testing.assert_array_equal(np.asarray(row.new), params[row.name].array)  # same bits
    assert report.explanation.update.loss_after == after
    assert report.data["loss_after"] == after


def test_update_calls_optim_sgd(monkeypatch):
    steps = []

    class Spy(optim.SGD):
        def step(self, closure=None):
            steps.append(
                [(p.array.dtype, p.array.shape) for g in self.param_groups for p in g["params"]]
            )
            return super().step(closure)

    monkeypatch.setattr("chainrule.explain.numbers.update.SGD", Spy)
    model = small_model()
    explain(model, np.ones(3), np.zeros(2), nn.MSELoss(), lr=0.1)
    assert steps == [
        [(np.float64, (4, 3)), (np.float64, (4,)), (np.float64, (2, 4)), (np.float64, (2,))]
    ]
    steps.clear()
    report = examples.mazur(update_order="sequential")  # one step per layer, output layer first
    assert [[shape for _, shape in s] for s in steps] == [[(2, 2)], [(2, 2)]]
    assert report.data["loss_after"] == pytest.approx(0.291027924, abs=5e-10)


def test_graph_without_model_is_stepped_on_copies_of_its_leaves():
    a = cr.tensor(1.5, requires_grad=True, dtype="float64")
    b = cr.tensor([0.5, -2.0], requires_grad=True, dtype="float64")
    loss = ((a * b).tanh() ** 2).sum()
    report = explain_graph(loss, {"a": a, "b": b}, lr=0.25)
    rows = {r.name: r for r in report.explanation.update.parameters}
    for name, t in (("a", a), ("b", b)):
        want = t.array - 0.25 * t.grad_array
        np.testing.assert_array_equal(np.asarray(rows[name].new), want)
    assert a.array == 1.5 and b.array.tolist() == [0.5, -2.0]  # the leaves are not stepped


@pytest.mark.parametrize(
    "make",
    [
        lambda: examples.mazur(),
        lambda: examples.mazur(param="b1", update_order="sequential"),
        lambda: examples.seed(),
        lambda: examples.scalar(),
        lambda: explain(
            small_model(2),
            np.arange(6.0).reshape(2, 3) / 7,
            np.ones((2, 2)),
            nn.MSELoss(),
            param=["0.weight[1, 2]", "2.bias[0]"],
            max_paths=2,
        ),
    ],
)
def test_data_model_json_round_trip(make):
    report = make()
    model = report.explanation
    assert isinstance(model, Explanation)
    assert model.to_dict() == report.data
    back = Explanation.from_dict(json.loads(report.json()))
    assert back == model
    assert back.to_dict() == report.data


def test_trace_data_model_round_trip():
    w = cr.tensor([0.5, -1.0, 2.0], requires_grad=True, dtype="float64")
    x = cr.tensor(np.arange(12.0).reshape(4, 3), dtype="float64")
    report = trace(((x * w).sum(axis=1)).sigmoid().mean())
    assert isinstance(report.explanation, Trace)
    assert Trace.from_dict(json.loads(report.json())) == report.explanation


def test_data_model_holds_numbers_not_prose():
    report = examples.mazur()
    model = report.explanation
    chain = next(c for c in model.chains if c.param == "w5")
    assert [f.symbol for f in chain.paths[0].factors] == [
        "∂E/∂out_o1",
        "∂out_o1/∂net_o1",
        "∂net_o1/∂w5",
    ]
    assert chain.total == pytest.approx(0.082167041, abs=5e-10)
    assert isinstance(model.backward.layers[0].delta[0][0], float)
    assert model.update.order == "simultaneous" and model.update.lr == 0.5


def test_context_is_checked_and_immutable():
    ctx = ExplainContext(lr=1, update_order="sequential", names="classic")
    assert ctx.lr == 1.0 and isinstance(ctx.lr, float) and ctx.classic
    with pytest.raises(AttributeError):
        ctx.lr = 0.5
    with pytest.raises(ValueError, match="update_order"):
        ExplainContext(update_order="random")
    with pytest.raises(ValueError, match="names"):
        ExplainContext(names="fancy")
    with pytest.raises(ValueError, match="max_paths"):
        ExplainContext(max_paths=0)


def _explain_imports() -> dict:
    """module -> the chainrule.explain modules it imports (anywhere in the file)."""
    graph = {}
    for path in EXPLAIN_DIR.rglob("*.py"):
        parts = path.relative_to(EXPLAIN_DIR.parents[1]).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                base = node.module
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = found
    return {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}


def test_no_import_circles_in_explain():
    graph = _explain_imports()
    assert "chainrule.explain.report" not in set().union(
        *(graph[m] for m in graph if m.startswith("chainrule.explain.render_"))
    )

    def parent_package(a, b):  # importing a package's own submodule from its __init__
        return b.startswith(a + ".")

    state: dict = {}

    def visit(m, stack):
        state[m] = "open"
        for d in graph[m]:
            if parent_package(m, d) or parent_package(d, m):
                continue
            if state.get(d) == "open":
                pytest.fail("import circle: " + " -> ".join([*stack, m, d]))
            if d not in state:
                visit(d, [*stack, m])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [])
