"""Predictions that join back to their input rows (a ``line`` column), and rows without a
target value dropped only on request (``--drop-missing-target``), as a user runs them."""

import csv
import re

import numpy as np
from cli_helpers import run_cli


def _rows(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    return [f"{a:.4f},{b:.4f},{'yes' if a + b > 0 else 'no'}" for a, b in x]


def _train(tmp_path, data, *extra):
    model = tmp_path / "m.safetensors"
    result = run_cli(
        "train", data, "--target", "y", "--no-plots", "--out", model, "--epochs", "30", *extra
    )
    assert result.returncode == 0, result.stderr
    return model


def _predictions(tmp_path, model, data) -> list[list[str]]:
    out = tmp_path / f"{data.stem}-predictions.csv"
    result = run_cli("predict", model, data, "--out", out, "--proba")
    assert result.returncode == 0, result.stderr
    return list(csv.reader(out.open()))


def test_predictions_line_up_with_input_rows_around_skipped_lines(tmp_path):
    # before: 60 predictions for 65 lines, with no way to tell which row each one was for
    rows = _rows()
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join(["a,b,y", *rows]) + "\n")
    model = _train(tmp_path, clean)
    lines = ["# exported 2024-05-01", "a,b,y"]
    expected_lines = []
    for i, row in enumerate(rows):
        lines.append(row)
        expected_lines.append(len(lines))
        lines += {10: [""], 20: ["a,b,y"], 30: [",,"], 40: ["", ""]}.get(i, [])
    messy = tmp_path / "messy.csv"
    messy.write_text("\n".join(lines) + "\n")
    got = _predictions(tmp_path, model, messy)
    reference = _predictions(tmp_path, model, clean)
    assert got[0] == ["line", "predicted_y", "no", "yes"]
    assert [int(r[0]) for r in got[1:]] == expected_lines
    text = messy.read_text().splitlines()
    assert all(text[int(r[0]) - 1] == row for r, row in zip(got[1:], rows))
    assert [r[1:] for r in got[1:]] == [r[1:] for r in reference[1:]]  # same rows, same answers


def test_regression_predictions_have_the_line_column_too(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    rows = ["a,b,y"] + [f"{a:.3f},{b:.3f},{2 * a - b:.3f}" for a, b in x]
    data = tmp_path / "reg.csv"
    data.write_text("\n".join(rows[:11] + [""] + rows[11:]) + "\n")
    got = _predictions(tmp_path, _train(tmp_path, data), data)
    assert got[0] == ["line", "predicted_y"]
    assert [int(r[0]) for r in got[1:]] == list(range(2, 12)) + list(range(13, 63))


def test_drop_missing_target_on_train_and_evaluate(tmp_path):
    rows = _rows()
    for i in (3, 17, 50):
        rows[i] = rows[i].rsplit(",", 1)[0] + ","
    data = tmp_path / "gaps.csv"
    data.write_text("\n".join(["a,b,y", *rows]) + "\n")
    refused = run_cli("train", data, "--target", "y", "--no-plots", "--out", tmp_path / "x")
    assert refused.returncode != 0
    assert "missing target value (3 of 80 rows have none: lines 5, 19, 52)" in refused.stderr
    assert "--drop-missing-target" in refused.stderr
    model = _train(tmp_path, data, "--drop-missing-target")
    evaluated = run_cli("evaluate", model, data)
    assert evaluated.returncode != 0 and "--drop-missing-target" in evaluated.stderr
    evaluated = run_cli("evaluate", model, data, "--drop-missing-target")
    assert evaluated.returncode == 0, evaluated.stderr
    assert (
        "3 of 80 rows have no 'y' value and were left out (--drop-missing-target)"
        in evaluated.stderr
    )
    assert "line(s) 5, 19, 52" in evaluated.stderr
    assert re.search(r"^examples +77$", evaluated.stdout, re.M)


def test_a_lone_class_is_named_with_its_line(tmp_path):
    # a typo (2 among 0/1 labels): before, the error named the class but not where it was
    rows = [r.replace(",yes", ",1").replace(",no", ",0") for r in _rows(40)]
    rows[6] = rows[6].rsplit(",", 1)[0] + ",2"
    data = tmp_path / "typo.csv"
    data.write_text("\n".join(["a,b,y", *rows]) + "\n")
    result = run_cli("train", data, "--target", "y", "--no-plots", "--out", tmp_path / "m")
    assert result.returncode == 2
    assert "class(es) '2' (line 8) have a single row each (a typo in the target" in result.stderr


def test_explain_takes_the_line_that_predict_wrote(tmp_path):
    """``chainrule explain --line N`` explains the row predict's ``line`` column calls N."""
    rows = _rows(n=40, seed=2)
    clean = tmp_path / "clean.csv"
    clean.write_text("\n".join(["a,b,y", *rows]) + "\n")
    model = _train(tmp_path, clean)
    messy = tmp_path / "messy.csv"
    messy.write_text("\n".join(["a,b,y", rows[0], "", "a,b,y", *rows[1:]]) + "\n")
    got = _predictions(tmp_path, model, messy)
    line_of_second_row = int(got[2][0])
    assert line_of_second_row == 5  # header, row, blank, repeated header, then this row

    by_line = run_cli("explain", model, "--data", messy, "--line", str(line_of_second_row))
    by_row = run_cli("explain", model, "--data", messy, "--row", "1")
    assert by_line.returncode == 0, by_line.stderr
    assert by_line.stdout == by_row.stdout
    assert by_line.stdout != run_cli("explain", model, "--data", messy, "--row", "0").stdout

    blank = run_cli("explain", model, "--data", messy, "--line", "3")
    assert blank.returncode != 0
    assert "line 3 starts no data row" in blank.stderr and "lines 2, 5" in blank.stderr
    both = run_cli("explain", model, "--data", messy, "--line", "5", "--row", "1")
    assert both.returncode != 0 and "not allowed with" in both.stderr


def test_predict_on_a_wide_model_names_its_first_columns_only(tmp_path):
    # the error listed all 300 columns of the model after the file's own message
    rng = np.random.default_rng(0)
    names = [f"v{j}" for j in range(300)]
    rows = [",".join(f"{v:.2f}" for v in rng.normal(size=300)) + f",{i % 2}" for i in range(40)]
    data = tmp_path / "wide.csv"
    data.write_text(",".join([*names, "y"]) + "\n" + "\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    args = ["--target", "y", "--epochs", "1", "--no-plots", "--out", model]
    assert run_cli("train", data, *args).returncode == 0
    new = tmp_path / "new.csv"
    new.write_text(",".join(names[1:]) + "\n" + "\n".join(r.split(",", 1)[1] for r in rows))
    result = run_cli("predict", model, new)
    assert result.returncode == 2
    assert result.stderr.rstrip().endswith(
        "m.safetensors expects 300 feature columns: v0, v1, v2, v3, v4, v5, v6, v7, v8, "
        "v9, v10, v11, v12, v13, v14, v15, v16, v17, v18, v19, ... and 280 more)"
    )
    assert len(result.stderr) < 1000 + len(str(model))
