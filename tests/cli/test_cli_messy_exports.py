"""``chainrule train`` and ``predict`` on an export as users send it: ``;``-separated with a
byte-order mark and Windows line ends, an id, amounts with thousands dots beside a column
with decimal points, missing readings written ``n.a.``, the header pasted again mid-file,
empty columns past the last one, and answers written `` Yes ``/``no``."""

import csv

import numpy as np
from cli_helpers import run_cli


def _export(path, n=200, seed=0):
    rng = np.random.default_rng(seed)
    rows = ["id;amount;rate;temp;bought;;"]
    for i in range(n):
        if i == n // 2:
            rows.append(" ID ; Amount ; Rate ; Temp ; Bought ;;")
        buys = i % 2 == 0
        amount = int(rng.integers(1100, 3000)) if buys else int(rng.integers(100, 999))
        shown = f"{amount // 1000}.{amount % 1000:03d}" if amount >= 1000 else str(amount)
        temp = "n.a." if i % 9 == 0 else f"{rng.uniform(10, 30):.1f}"
        answer = " Yes " if buys else "no"
        rows.append(f"{i};{shown};{rng.uniform(0, 5):.2f};{temp};{answer};;")
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    return path


def test_train_and_predict_on_a_messy_european_export(tmp_path):
    data, model = _export(tmp_path / "export.csv"), tmp_path / "m.safetensors"
    result = run_cli(
        "train", data, "--target", "bought", "--impute", "mean", "--epochs", "60",
        "--no-plots", "--out", model, "--seed", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "'amount': dots read as thousands separators (1.500 as 1500)" in shown
    assert "repeat the header" in shown
    schema = run_cli(  # wide enough that the table's last column is not cut to fit
        "train", data, "--target", "bought", "--impute", "mean", "--dry-run",
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert "numbers; 'n.a.' (23x)" in schema.stdout  # temp is used, not left out

    new = tmp_path / "new.csv"
    new.write_text("amount;rate;temp\n1.500;2.5;n.a.\n1500;1.0;20\n750;2.5;missing\n")
    out = tmp_path / "p.csv"
    result = run_cli("predict", model, new, "--out", out)
    assert result.returncode == 0, result.stderr
    # 1.500 and 1500 are one amount; before, 1.500 was 1.5 in training, so 1500 read "no"
    assert [r[1] for r in csv.reader(out.open())][1:] == ["Yes", "Yes", "no"]


def test_inspect_names_a_column_read_with_thousands_dots(tmp_path):
    result = run_cli("inspect", _export(tmp_path / "export.csv"))
    assert result.returncode == 0, result.stderr
    assert "note: 'amount': dots read as thousands separators (1.500 as 1500)" in result.stdout
    assert "Pass --decimal . to read them as decimal points" in result.stdout
