"""``chainrule export``: a CSV-trained model as ONE ONNX graph equals ``chainrule predict``."""

import csv
import math

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli.main import main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def feeds_from_csv(csv_path, onnx_path):
    """The raw columns of a CSV file as ONNX Runtime inputs (what a deployment would do)."""
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    feeds = {}
    for inp in session.get_inputs():
        cells = [row[inp.name].strip() for row in rows]
        if inp.type == "tensor(string)":
            feeds[inp.name] = np.array(cells, dtype=object).reshape(-1, 1)
        else:
            numbers = [float(c) if c not in ("", "NA", "?") else math.nan for c in cells]
            feeds[inp.name] = np.array(numbers, dtype=np.float64).reshape(-1, 1)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds)))


def read_predictions(path):
    with open(path, newline="") as f:
        return list(csv.reader(f))


def write_mixed_csv(path, n=150, seed=0, classes=("setosa", "versicolor", "virginica")):
    """Numeric and categorical features, some cells missing, string labels."""
    rng = np.random.default_rng(seed)
    lines = ["height,colour,weight,size,species"]
    for i in range(n):
        label = i % len(classes)
        h = rng.normal(label - 1.0, 0.7)
        w = rng.normal(0.5 * label, 0.8)
        colour = ["red", "green", "blue"][int(rng.integers(0, 3))]
        size = ["S", "M", "L"][(label + int(rng.integers(0, 2))) % 3]
        height = "" if i % 17 == 5 else f"{h:.5f}"  # missing: imputed with the mean
        colour = "NA" if i % 23 == 7 else colour  # missing: the most frequent category
        lines.append(f"{height},{colour},{w:.5f},{size},{classes[label]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def train(tmp_path, csv_path, target, *extra):
    model = tmp_path / "model.safetensors"
    code = main(
        [
            "train",
            str(csv_path),
            "--target",
            target,
            "--epochs",
            "8",
            "--layers",
            "8",
            "--no-plots",
            "--out",
            str(model),
            *extra,
        ]
    )
    assert code == 0
    return model


def predict_and_export(tmp_path, model, csv_path, opset=17, proba=True):
    out = tmp_path / "pred.csv"
    extra = ["--proba"] if proba else []
    assert main(["predict", str(model), str(csv_path), "--out", str(out), *extra]) == 0
    onnx_path = tmp_path / "model.onnx"
    assert main(["export", str(model), "--onnx", str(onnx_path), "--opset", str(opset)]) == 0
    onnx.checker.check_model(onnx.load(str(onnx_path)), full_check=True)
    return read_predictions(out), feeds_from_csv(csv_path, onnx_path)


def assert_same_classification(cli_rows, got, classes):
    header, rows = cli_rows[0], cli_rows[1:]
    assert header == ["line", "predicted_species", *classes]  # --proba: one per class name
    assert list(got["label"]) == [r[1] for r in rows]
    expected = np.array([[float(v) for v in r[2:]] for r in rows])
    assert got["probabilities"].shape == expected.shape
    np.testing.assert_allclose(got["probabilities"], expected, atol=1e-5)  # CLI prints 6 digits


@pytest.mark.parametrize("opset", [13, 21])
def test_multiclass_with_categories_and_missing_cells(tmp_path, opset, capsys):
    data = write_mixed_csv(tmp_path / "train.csv")
    model = train(tmp_path, data, "species", "--impute", "mean")
    cli_rows, got = predict_and_export(tmp_path, model, data, opset)
    assert_same_classification(cli_rows, got, ["setosa", "versicolor", "virginica"])
    proto = onnx.load(str(tmp_path / "model.onnx"))
    assert [i.name for i in proto.graph.input] == ["height", "colour", "weight", "size"]
    props = {p.key: p.value for p in proto.metadata_props}
    assert props["chainrule.version"] == cr.__version__
    assert "with its preprocessing" in capsys.readouterr().out


@pytest.mark.parametrize("loss", ["bce", "ce"])
def test_binary(tmp_path, loss):
    data = write_mixed_csv(tmp_path / "train.csv", classes=("no", "yes"))
    model = train(tmp_path, data, "species", "--impute", "mean", "--loss", loss)
    cli_rows, got = predict_and_export(tmp_path, model, data)
    assert_same_classification(cli_rows, got, ["no", "yes"])


def test_new_file_with_other_column_order(tmp_path):
    data = write_mixed_csv(tmp_path / "train.csv")
    model = train(tmp_path, data, "species", "--impute", "mean")
    new = tmp_path / "new.csv"  # columns reordered, no target: picked by name
    with open(data, newline="") as f:
        rows = list(csv.DictReader(f))[:20]
    order = ["size", "weight", "colour", "height"]
    new.write_text("\n".join([",".join(order)] + [",".join(r[k] for k in order) for r in rows]))
    cli_rows, got = predict_and_export(tmp_path, model, new)
    assert_same_classification(cli_rows, got, ["setosa", "versicolor", "virginica"])


def test_regression(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 2, (120, 2))
    y = 3 * x[:, 0] - 2 * x[:, 1] + 0.5
    data = tmp_path / "reg.csv"
    data.write_text("\n".join(["a,b,y"] + [f"{a:.5f},{b:.5f},{t:.5f}" for (a, b), t in zip(x, y)]))
    model = train(tmp_path, data, "y")
    cli_rows, got = predict_and_export(tmp_path, model, data, proba=False)
    assert cli_rows[0] == ["line", "predicted_y"]
    expected = np.array([float(r[1]) for r in cli_rows[1:]])
    np.testing.assert_allclose(got["prediction"].reshape(-1), expected, rtol=1e-5, atol=1e-5)


def test_network_only_and_plain_model(tmp_path):
    data = write_mixed_csv(tmp_path / "train.csv")
    model_path = train(tmp_path, data, "species", "--impute", "mean")
    out = tmp_path / "net.onnx"
    assert main(["export", str(model_path), "--onnx", str(out), "--network-only"]) == 0
    proto = onnx.load(str(out))
    assert [i.name for i in proto.graph.input] == ["input"]
    plain = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.Tanh(), cr.nn.Linear(4, 2))
    cr.save(plain, tmp_path / "plain.safetensors")
    assert main(["export", str(tmp_path / "plain.safetensors"), "--onnx", str(out)]) == 0
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x})
    np.testing.assert_allclose(got, cr.predict(plain, x), rtol=1e-5, atol=1e-6)


def test_unknown_category_is_a_row_of_zeros(tmp_path):
    data = write_mixed_csv(tmp_path / "train.csv")
    model_path = train(tmp_path, data, "species", "--impute", "mean")
    proto = cr.onnx.export_pipeline(cr.load(model_path), None)
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {
        "height": np.array([[0.1]]),
        "colour": np.array([["purple"]], dtype=object),
        "weight": np.array([[0.2]]),
        "size": np.array([["M"]], dtype=object),
    }
    label, probs = session.run(None, feeds)
    assert label.shape == (1,) and probs.shape == (1, 3)
    np.testing.assert_allclose(probs.sum(), 1.0, rtol=1e-6)


def test_errors(tmp_path, capsys):
    plain = cr.nn.Sequential(cr.nn.Tanh(), cr.nn.Linear(3, 2))
    cr.save(plain, tmp_path / "plain.safetensors")
    out = str(tmp_path / "x.onnx")
    assert main(["export", str(tmp_path / "plain.safetensors"), "--onnx", out]) == 2
    assert "--input-shape" in capsys.readouterr().err
    assert (
        main(["export", str(tmp_path / "plain.safetensors"), "--onnx", out, "--input-shape", "3"])
        == 0
    )
    proto = onnx.load(out)
    assert proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value == 3
    assert (
        main(["export", str(tmp_path / "plain.safetensors"), "--onnx", out, "--input-shape", "0,x"])
        == 2
    )
    assert "--input-shape must be positive integers" in capsys.readouterr().err
    cr.save(cr.nn.Linear(3, 2), tmp_path / "lin.safetensors")
    assert main(["export", str(tmp_path / "lin.safetensors"), "--onnx", out, "--opset", "9"]) == 2
    assert "opset 9 is not supported" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.safetensors"), "--onnx", out]) == 2
    with pytest.raises(cr.onnx.ExportError, match="no preprocessing metadata"):
        cr.onnx.export_pipeline(cr.nn.Linear(3, 2), None)


def test_boolean_feature_in_any_case_with_missing_cells(tmp_path):
    rng = np.random.default_rng(0)
    lines = ["x,flag,species"]
    for i in range(120):
        x = rng.normal()
        flag = ["TRUE", "false", "True", "FALSE", "true"][i % 5] if i % 13 != 4 else "NA"
        lines.append(f"{x:.4f},{flag},{'yes' if x > 0 else 'no'}")
    data = tmp_path / "train.csv"
    data.write_text("\n".join(lines) + "\n")
    model = train(tmp_path, data, "species", "--impute", "mean")
    new = tmp_path / "new.csv"
    new.write_text("x,flag\n0.5,tRuE\n-0.5,False\n0.1,1\n-0.1,0\n0.2,?\n")
    cli_rows, got = predict_and_export(tmp_path, model, new)
    assert_same_classification(cli_rows, got, ["no", "yes"])


def test_date_feature_is_refused_with_the_column_named(tmp_path, capsys):
    lines = ["day,x,species"] + [
        f"2024-01-{1 + i % 28:02d},{i % 7},{'ab'[i % 2]}" for i in range(60)
    ]
    data = tmp_path / "train.csv"
    data.write_text("\n".join(lines) + "\n")
    model = train(tmp_path, data, "species", "--features", "day,x")
    out = str(tmp_path / "m.onnx")
    assert main(["export", str(model), "--onnx", out]) == 2
    assert "column 'day' is a date feature" in capsys.readouterr().err


def test_boolean_feature_written_several_ways_matches_the_cli(tmp_path):
    # yes, Y, TRUE, no, N, False in one column: one boolean, in the CLI and in ONNX alike
    rng = np.random.default_rng(0)
    words = [("no", "yes"), ("N", "Y"), ("False", "TRUE")]
    lines = ["x,flag,species"]
    for i in range(120):
        x = rng.normal()
        flag = words[i % 3][int(x > 0.3)] if i % 11 != 4 else "#N/A"
        lines.append(f"{x:.4f},{flag},{'yes' if x > 0 else 'no'}")
    data = tmp_path / "train.csv"
    data.write_text("\n".join(lines) + "\n")
    model = train(tmp_path, data, "species", "--impute", "mean")
    new = tmp_path / "new.csv"
    new.write_text("x,flag\n0.5,y\n-0.5,FALSE\n0.1,t\n-0.1,No\n0.2,\\N\n0.3,maybe\n")
    cli_rows, got = predict_and_export(tmp_path, model, new)
    assert_same_classification(cli_rows, got, ["no", "yes"])


def test_yes_no_words_mixed_with_1_and_0_and_spreadsheet_errors_match_the_cli(tmp_path):
    # yes, no, TRUE, FALSE, 1, 0 in one column: one boolean (was six one-hot categories);
    # #DIV/0! in a category column: missing, filled as the CLI fills it
    rng = np.random.default_rng(0)
    words = [("no", "yes"), ("FALSE", "TRUE"), ("0", "1")]
    lines = ["x,flag,colour,species"]
    for i in range(120):
        x = rng.normal()
        colour = ["red", "blue"][i % 2] if i % 17 != 5 else "#DIV/0!"
        lines.append(f"{x:.4f},{words[i % 3][int(x > 0.3)]},{colour},{'yes' if x > 0 else 'no'}")
    data = tmp_path / "train.csv"
    data.write_text("\n".join(lines) + "\n")
    columns = cr.data.load_csv(data, target="species", impute="mean").preprocessor.columns
    assert columns[1]["kind"] == "boolean" and "#DIV/0!" not in columns[2]["categories"]
    model = train(tmp_path, data, "species", "--impute", "mean")
    new = tmp_path / "new.csv"
    new.write_text(
        "x,flag,colour\n0.5,Yes,red\n-0.5,0,#DIV/0!\n0.1,1,blue\n-0.1,false,#VALUE!\n0.3,no,red\n"
    )
    cli_rows, got = predict_and_export(tmp_path, model, new)
    assert_same_classification(cli_rows, got, ["no", "yes"])


def test_export_lists_the_first_inputs_of_a_wide_model(tmp_path, capsys):
    # a model of 2,000 columns printed 2,000 input names on one line
    rng = np.random.default_rng(0)
    names = [f"f{k}" for k in range(30)]
    rows = [",".join([*names, "y"])]
    rows += [",".join([*(f"{v:.3f}" for v in rng.normal(size=30)), str(i % 2)]) for i in range(40)]
    data = tmp_path / "wide.csv"
    data.write_text("\n".join(rows) + "\n")
    model = train(tmp_path, data, "y")
    capsys.readouterr()
    assert main(["export", str(model), "--onnx", str(tmp_path / "w.onnx")]) == 0
    out = capsys.readouterr().out
    assert "inputs: f0, f1, f2, f3, f4, f5, f6, f7, f8, f9, ... and 20 more (30 in all);" in out
    assert "f10" not in out
    graph = onnx.load(str(tmp_path / "w.onnx")).graph
    assert [i.name for i in graph.input] == names  # the file keeps them all
