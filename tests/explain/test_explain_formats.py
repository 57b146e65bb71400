"""Formats (text, Markdown, HTML, JSON, DOT, terminal), parameter names, errors, large layers,
trace(), and that the model is never touched."""

import json
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import nn
from chainrule.explain import Report, examples, explain, trace


@pytest.fixture(scope="module")
def mazur():
    return examples.mazur()


def small_model():
    cr.manual_seed(1)
    return nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1))


def test_markdown_has_latex_and_tables(mazur):
    md = mazur.markdown()
    assert md.startswith("# ")
    assert r"\frac{\partial E}{\partial w_{5}}" in md
    assert r"\mathrm{out}_{o1}" in md
    assert "| parameter |" in md
    assert md == mazur._repr_markdown_()
    # every $$ block is closed on its line
    for line in md.splitlines():
        if line.startswith("$$"):
            assert line.endswith("$$") and len(line) > 4


def test_html_is_self_contained(mazur):
    page = mazur.html()
    assert page.startswith("<!DOCTYPE html>")
    assert "<style>" in page
    for forbidden in ("<script", "<link", "http://", "https://", "src="):
        assert forbidden not in page
    assert "0.082167041" in page
    cell = mazur._repr_html_()  # a notebook cell: a div whose CSS applies only inside it
    assert cell.startswith('<div class="chainrule-report"><style>')
    assert "<html" not in cell and "0.082167041" in cell
    styles = cell[cell.index("<style>") + 7 : cell.index("</style>")]
    assert all(r.startswith(".chainrule-report") for r in styles.split("}") if r)


def test_json_holds_every_number(mazur):
    data = json.loads(mazur.json())
    assert data["loss"]["value"] == pytest.approx(0.298371109, abs=5e-10)
    assert data["chains"][0]["paths"][0]["factors"][0]["value"] == pytest.approx(
        0.74136507, abs=1e-9
    )
    assert {p["name"] for p in data["parameters"]} == {"0.weight", "0.bias", "2.weight", "2.bias"}
    assert len(data["graph"]) > 10


def test_dot_graph(mazur):
    dot = mazur.dot()
    assert dot.startswith("digraph chainrule {") and dot.rstrip().endswith("}")
    assert "σ(z)·(1 − σ(z))" in dot
    assert dot.count("->") >= 15


def test_render_graph_without_graphviz_says_how(mazur, tmp_path, monkeypatch):
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(RuntimeError, match="Graphviz.*not installed.*report.dot"):
        mazur.render_graph(tmp_path / "g.svg")


def test_save_picks_format_by_extension(mazur, tmp_path):
    for ext in ("txt", "md", "html", "json", "dot"):
        path = mazur.save(tmp_path / f"report.{ext}")
        assert open(path, encoding="utf-8").read()
    with pytest.raises(ValueError, match="extension"):
        mazur.save(tmp_path / "report.xyz")


def test_terminal_is_coloured_and_aligned(mazur, capsys):
    text = mazur.terminal_text(width=140)
    assert "\x1b[" in text
    assert "0.082167041" in text
    plain = mazur.terminal_text(width=140, color=False)
    assert "\x1b[" not in plain
    mazur.terminal()
    assert "w5" in capsys.readouterr().out


def test_rich_is_imported_lazily():
    import subprocess
    import sys

    code = (
        "import sys; from chainrule.explain import examples; r = examples.mazur(); "
        "str(r); r.markdown(); "
        "r.html(); r.json(); print('rich' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_param_names_and_parse_errors():
    model = small_model()
    x, y = np.array([[0.3, -0.2]]), np.array([[0.5]])
    report = explain(model, x, y, nn.MSELoss(), param="0.weight[1, 0]")
    assert [c["param"] for c in report.data["chains"]] == ["0.weight[1, 0]"]
    report = explain(model, x, y, nn.MSELoss(), param=["0.weight[1,0]", "2.bias[0]"])
    assert [c["param"] for c in report.data["chains"]] == ["0.weight[1, 0]", "2.bias[0]"]
    with pytest.raises(ValueError, match=r"valid names: 0\.weight\[i, j\] with i < 2, j < 2"):
        explain(model, x, y, nn.MSELoss(), param="0.weight[2, 0]")
    with pytest.raises(ValueError, match="2.bias"):
        explain(model, x, y, nn.MSELoss(), param="layer9.weight")


def test_classic_names_need_one_sample():
    model = small_model()
    report = explain(model, [0.3, -0.2], [0.5], nn.MSELoss(), names="classic", param="w5")
    assert "∂E/∂w5 = " in str(report)
    with pytest.raises(ValueError, match="one sample"):
        explain(model, np.zeros((2, 2)), np.zeros((2, 1)), nn.MSELoss(), names="classic")
    with pytest.raises(ValueError, match="update_order"):
        explain(model, [0.3, -0.2], [0.5], nn.MSELoss(), update_order="random")


def test_model_is_not_touched():
    model = small_model()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    dtypes = {n: p.dtype for n, p in model.named_parameters()}
    explain(model, np.array([[0.3, -0.2]]), np.array([[0.5]]), nn.MSELoss(), lr=10.0)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    for n, p in model.named_parameters():
        assert p.dtype == dtypes[n] == np.float32
        assert p.grad is None


def test_float32_model_is_explained_in_float64():
    model = small_model()
    report = explain(model, np.array([[0.3, -0.2]]), np.array([[0.5]]), nn.MSELoss())
    assert report.data["dtype"] == "float64"
    assert all(t.data.dtype == np.float64 for t in report.graph.tensors if t.data.dtype.kind == "f")


def test_large_layers_stay_readable():
    cr.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 48), nn.ReLU(), nn.Linear(48, 10))
    x = np.random.default_rng(0).normal(size=(1, 64))
    report = explain(model, x, np.array([3]), nn.CrossEntropyLoss(), param="0.weight[5, 7]")
    text = report.text(width=None)  # one line per equation: the count measures the content
    assert len(text.splitlines()) < 200
    assert max(len(line) for line in text.splitlines()) < 400
    assert max(len(line) for line in str(report).splitlines()) <= 80
    assert "more neurons" in text
    chain = report.data["chains"][0]
    assert chain["total"] == pytest.approx(chain["engine_grad"], abs=1e-12)
    # the paths are summarised, not all printed
    assert len(chain["paths"]) == 10 or chain["total"] == 0
    assert len(re.findall(r"path \d+:", text)) <= 6


def test_trace_table_with_broadcasting():
    w = cr.tensor([0.5, -1.0, 2.0], requires_grad=True, dtype="float64")
    b = cr.tensor(0.25, requires_grad=True, dtype="float64")
    x = cr.tensor(np.arange(12.0).reshape(4, 3), dtype="float64")
    w.grad = np.array([7.0, 7.0, 7.0])  # an earlier gradient: trace must not change it
    loss = ((x * w).sum(axis=1) + b).sigmoid().mean()
    report = trace(loss)
    assert isinstance(report, Report)
    nodes = report.data["nodes"]
    mul = next(n for n in nodes if n["op"] == "×")
    assert any("summed over the batch axis" in f["note"] for f in mul["formulas"])
    np.testing.assert_array_equal(w.grad, [7.0, 7.0, 7.0])
    assert b.grad is None
    loss.backward()  # the graph is still there for the user's own backward
    p = 1 / (1 + np.exp(-(x.data @ w.data + 0.25)))
    np.testing.assert_allclose(b.grad, (p * (1 - p)).mean(), rtol=1e-12)
    leaf_w = next(n for n in nodes if n["name"] == "c1" or n["shape"] == [3] and not n["inputs"])
    assert leaf_w["grad"] != "—"
    assert "∂/∂" in str(report)
    assert report.dot().startswith("digraph")


def test_trace_after_backward_freed_the_graph_says_so():
    a = cr.tensor(2.0, requires_grad=True)
    loss = a * a
    loss.backward()
    with pytest.raises(cr.GraphError, match="retain_graph=True"):
        trace(loss)


@pytest.mark.parametrize("first", ["import chainrule.explain.examples", "pass"])
def test_cr_explain_is_callable_whatever_was_imported_first(first):
    import subprocess
    import sys

    code = (
        f"{first}\nimport chainrule as cr, numpy as np\nfrom chainrule import nn\n"
        "m = nn.Sequential(nn.Linear(2, 1))\n"
        "r = cr.explain(m, np.ones((1, 2)), np.ones((1, 1)), nn.MSELoss())\n"
        "print(type(r).__name__, type(cr.trace(r.graph.root)).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Report", "Report"]


def test_render_graph_calls_graphviz(mazur, tmp_path, monkeypatch):
    # a stand-in for Graphviz's dot: records its arguments and input
    fake = tmp_path / "bin" / "dot"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\necho "$@" > "$0.args"\ncat > "$3"\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:" + __import__("os").environ["PATH"])
    out = mazur.render_graph(tmp_path / "graph.svg")
    assert (tmp_path / "bin" / "dot.args").read_text().split()[0] == "-Tsvg"
    assert open(out, encoding="utf-8").read() == mazur.dot()
