"""``chainrule evaluate`` on a labelled CSV: which class the binary scores are of, and what a
0/0 score means."""

from cli_helpers import run_cli


def _metric(stdout: str, name: str) -> tuple[str, float]:
    line = next(line for line in stdout.splitlines() if line.startswith(name))
    label, value = line.rsplit(maxsplit=1)
    return label.strip(), float(value)


def test_evaluate_names_the_class_scored_and_notes_0_over_0(tmp_path):
    # 'precision (binary)' did not say of which class ('pass' of fail/pass), and a file with
    # no row of that class showed precision, recall and f1 as 0 with no word of why
    rows = ["hours,result"] + [f"{i % 10},{'pass' if i % 10 > 4 else 'fail'}" for i in range(60)]
    data = tmp_path / "exam.csv"
    data.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    args = ["--target", "result", "--epochs", "60", "--lr", "0.05", "--no-plots", "--out", model]
    assert run_cli("train", data, *args).returncode == 0
    everyone = run_cli("evaluate", model, data)
    assert everyone.returncode == 0, everyone.stderr
    assert _metric(everyone.stdout, "recall")[0] == "recall (class 'pass')"
    assert _metric(everyone.stdout, "accuracy")[1] == 1.0
    assert "0/0" not in everyone.stderr

    failed = tmp_path / "failed.csv"  # only the class 'fail', all predicted right
    failed.write_text("hours,result\n1,fail\n2,fail\n0,fail\n")
    result = run_cli("evaluate", model, failed)
    assert result.returncode == 0, result.stderr
    assert _metric(result.stdout, "accuracy")[1] == 1.0
    assert _metric(result.stdout, "f1") == ("f1 (class 'pass')", 0.0)
    assert (
        "note: the file holds no row of class 'pass' and the model predicts it for no row: "
        "precision, recall, f1 are 0/0, shown as 0"
    ) in result.stderr


def test_evaluate_one_row_of_a_regression_shows_no_r2(tmp_path):
    # r2 of one row was printed as 0.0000 (scikit-learn: NaN): one row has no spread to
    # explain, and 0 reads as a model that failed
    rows = ["x,y"] + [f"{i / 10},{2 * i / 10 + 1}" for i in range(40)]
    data = tmp_path / "line.csv"
    data.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m.safetensors"
    assert (
        run_cli(
            "train", data, "--target", "y", "--epochs", "2", "--no-plots", "--out", model
        ).returncode
        == 0
    )
    one = tmp_path / "one.csv"
    one.write_text("x,y\n1.5,4\n")
    result = run_cli("evaluate", model, one)
    assert result.returncode == 0, result.stderr
    assert "r2        n/a (one row)" in result.stdout
    both = run_cli("evaluate", model, data)
    assert _metric(both.stdout, "r2")[0] == "r2"
