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
