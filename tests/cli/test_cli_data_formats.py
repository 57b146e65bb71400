"""``predict`` and ``evaluate`` read new rows as the training file was written."""

import csv

import numpy as np
from cli_helpers import run_cli


def _german(path, n=160, seed=0):
    """income with a decimal comma and thousands dots, ';' between cells: rich above 3,000."""
    rng = np.random.default_rng(seed)
    rows = ["income;age;label"]
    for _ in range(n):
        income = rng.uniform(500, 6000)
        text = f"{income:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".")
        rows.append(f"{text};{rng.integers(20, 70)};{'rich' if income > 3000 else 'poor'}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_predict_reads_thousands_dots_like_the_training_file(tmp_path):
    model = tmp_path / "m.safetensors"
    train = _german(tmp_path / "de.csv")
    result = run_cli(
        "train",
        train,
        "--target",
        "label",
        "--no-plots",
        "--out",
        model,
        "--epochs",
        "60",
        "--seed",
        "0",
    )
    assert result.returncode == 0, result.stderr
    new = tmp_path / "new.csv"
    new.write_text("income;age\n1.000;30\n5.500;40\n900;50\n4.800;35\n")
    out = tmp_path / "p.csv"
    result = run_cli("predict", model, new, "--out", out)
    assert result.returncode == 0, result.stderr
    assert [r[1] for r in csv.reader(out.open())][1:] == ["poor", "rich", "poor", "rich"]
    assert "'1.000' are read as in the training file" in result.stderr
    assert "pass --decimal . if that is wrong" in result.stderr
    # --decimal is accepted where the note suggests it
    result = run_cli("predict", model, new, "--decimal", ".", "--out", out)
    assert result.returncode == 0, result.stderr
    assert [r[1] for r in csv.reader(out.open())][1:] == ["poor"] * 4
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("income;age;label\n1.000;30;poor\n5.500;40;rich\n")
    result = run_cli("evaluate", model, labelled, "--decimal", ",")
    assert result.returncode == 0, result.stderr
    assert "accuracy" in result.stdout and "1.0" in result.stdout


def test_predicted_labels_are_written_as_in_the_training_file(tmp_path):
    rows = ["x,code"] + [f"{i % 7 - 3},{'007' if i % 7 < 3 else '010'}" for i in range(70)]
    train = tmp_path / "t.csv"
    train.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    result = run_cli(
        "train", train, "--target", "code", "--no-plots", "--out", model, "--epochs", "5"
    )
    assert result.returncode == 0, result.stderr
    result = run_cli("predict", model, train, "--proba")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "line,predicted_code,007,010"
    assert {line.split(",")[1] for line in lines[1:]} <= {"007", "010"}


def test_predict_hints_say_to_retrain_and_headers_match_but_for_case(tmp_path):
    cells = [f"{i % 9 - 4},{'rgb'[i % 3]},{'ny'[i % 9 > 4]}" for i in range(60)]
    rows = ["x1,colour,label"] + cells
    train = tmp_path / "t.csv"
    train.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    result = run_cli(
        "train", train, "--target", "label", "--no-plots", "--out", model, "--epochs", "3"
    )
    assert result.returncode == 0, result.stderr
    new = tmp_path / "new.csv"
    new.write_text("x1,colour\n1,r\n,g\n")
    result = run_cli("predict", model, new)
    assert result.returncode == 2
    assert "(or retrain the model with --impute mean)" in result.stderr
    new.write_text("x1,colour\nabc,r\n")
    result = run_cli("predict", model, new)
    assert "retrain the model with --categorical x1 to read the column as categories" in (
        result.stderr
    )
    new.write_text("X1,Colour\n1,r\n-3,g\n")
    result = run_cli("predict", model, new)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == 3  # the header is not read as a row
    assert "differ from training only in case; read 'X1' as 'x1', 'Colour' as 'colour'" in (
        result.stderr
    )


def test_an_error_about_many_classes_names_the_first_ten_and_the_count(tmp_path):
    rows = ["x,label"] + [f"{i % 7},c{i % 150:03d}" for i in range(200)]
    data = tmp_path / "many.csv"
    data.write_text("\n".join(rows) + "\n")
    result = run_cli(
        "train", data, "--target", "label", "--no-plots", "--out", tmp_path / "m.safetensors"
    )
    assert result.returncode == 2
    message = result.stderr.strip()
    assert "'c050', 'c051'" in message and "... and 90 more (100 in all)" in message
    assert "'c060'" not in message and len(message) < 400


def test_predictions_for_a_decimal_comma_spreadsheet(tmp_path):
    # an Excel export (BOM, ';', decimal commas, CRLF): the predictions came back as
    # '0.992657' between commas, one column of text in the spreadsheet that made the file
    rng = np.random.default_rng(1)
    rows = ["x;colour;y"]
    for _ in range(80):
        x, colour = rng.uniform(-2, 2), str(rng.choice(["red", "blue"]))
        y = 3 * x + (1.5 if colour == "red" else 0) + rng.normal(0, 0.1)
        rows.append(f"{x:.3f};{colour};{y:.3f}".replace(".", ","))
    train = tmp_path / "excel.csv"
    train.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    model = tmp_path / "m.safetensors"
    args = ("--target", "y", "--no-plots", "--out", model, "--epochs", "5", "--seed", "0")
    assert run_cli("train", train, *args).returncode == 0
    new = tmp_path / "new.csv"
    new.write_bytes("\ufeffcolour;x\r\nred;1,5\r\nblue;-0,25\r\n".encode("utf-8"))
    plain = run_cli("predict", model, new)
    assert plain.returncode == 0, plain.stderr
    assert "--out-decimal ," in plain.stderr  # says how to get the spreadsheet's format
    values = [float(r[1]) for r in list(csv.reader(plain.stdout.splitlines()))[1:]]
    excel = run_cli("predict", model, new, "--out-decimal", ",")
    assert excel.returncode == 0, excel.stderr
    table = list(csv.reader(excel.stdout.splitlines(), delimiter=";"))
    assert table[0] == ["line", "predicted_y"] and [r[0] for r in table[1:]] == ["2", "3"]
    assert all("," in r[1] and "." not in r[1] for r in table[1:])
    assert [float(r[1].replace(",", ".")) for r in table[1:]] == values
    assert "--out-decimal" not in excel.stderr


def test_an_evaluation_label_that_differs_only_in_case_says_so(tmp_path):
    # Excel capitalised 'no' as 'No': the error said only "label 'No' was not seen in training"
    rows = ["x;bought"] + [f"{i % 9 - 4},5;{'yes' if i % 9 > 4 else 'no'}" for i in range(60)]
    train = tmp_path / "t.csv"
    train.write_text("\n".join(rows) + "\n")
    new = tmp_path / "new.csv"
    new.write_text("x;bought\n-3,5;No\n3,5;yes\n")
    plain, fold = tmp_path / "plain.safetensors", tmp_path / "fold.safetensors"
    common = ("--target", "bought", "--no-plots", "--epochs", "3")
    assert run_cli("train", train, *common, "--out", plain).returncode == 0
    result = run_cli("evaluate", plain, new)
    assert result.returncode == 2
    assert "label 'No' was not seen in training" in result.stderr
    assert "differs from 'no' only in case" in result.stderr
    assert "retrain the model with --label-case fold" in result.stderr
    assert run_cli("train", train, *common, "--label-case", "fold", "--out", fold).returncode == 0
    result = run_cli("evaluate", fold, new)
    assert result.returncode == 0, result.stderr
    unrelated = tmp_path / "other.csv"
    unrelated.write_text("x;bought\n-3,5;maybe\n")
    result = run_cli("evaluate", plain, unrelated)
    assert result.returncode == 2 and "only in case" not in result.stderr
