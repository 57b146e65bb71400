"""``chainrule train`` → ``predict`` → ``evaluate`` on an export as users' tools leave it:
comment lines above the header, a header repeated where two exports were pasted together,
Excel's empty rows (``,,,``), a ``notes`` column written twice, spreadsheet error values,
yes/no answers written as words and as 1/0, and SAP's trailing minus."""

import csv

import numpy as np
from cli_helpers import run_cli

HEADER = "x,notes,flag,amount,notes,label"


def _export(path, n=120, seed=0, header=True):
    rng = np.random.default_rng(seed)
    words = [("no", "yes"), ("FALSE", "TRUE"), ("0", "1")]
    lines = ["# exported by ledger v2", "# 2024-06-30, all branches"] if header else []
    lines.append(HEADER)
    for i in range(n):
        x, z = rng.normal(size=2)
        amount = f"{abs(z) * 100:.2f}{'-' if z < 0 else ''}" if i % 13 != 4 else "#DIV/0!"
        flag = words[i % 3][int(z > 0)]
        label = "yes" if x + z > 0 else "no"
        lines.append(f"{x:.3f},n{i % 4},{flag},{amount},,{label}")
        if i == n // 2:
            lines += [",,,,,", HEADER]  # an empty row, then the second export
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_pasted_export_trains_predicts_and_evaluates(tmp_path):
    data, model = _export(tmp_path / "export.csv"), tmp_path / "m.safetensors"
    common = ("train", data, "--target", "label", "--no-plots", "--out", model, "--seed", "0")
    refused = run_cli(*common, "--epochs", "1")
    assert refused.returncode == 2
    assert (
        "line 8, column 4 ('amount'): #DIV/0! is a spreadsheet error value (a formula that "
        "failed; 9 in this column), read as a missing value; fix the formula and export "
        "again, or fill the cell in or drop the row (or --impute mean)"
    ) in refused.stderr

    result = run_cli(*common, "--epochs", "60", "--impute", "mean", "--overwrite")
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "line(s) 1-2 above the header start with '#': skipped as comments" in shown
    assert "1 row(s) repeat the header (files pasted together?), on line(s) 66" in shown
    assert "columns 2 and 5 are named 'notes': read as 'notes' and 'notes.1'" in shown
    assert "amount: 9 cell(s) hold spreadsheet error values (#DIV/0! 9x)" in shown
    assert "amount: " in shown and "accounting negatives, (0.50) or 0.50-" in shown
    assert "binary" in result.stdout

    new = _export(tmp_path / "new.csv", n=40, seed=1, header=False)
    out = tmp_path / "predictions.csv"
    predicted = run_cli("predict", model, new, "--out", out)
    assert predicted.returncode == 0, predicted.stderr
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 40 and {r["predicted_label"] for r in rows} <= {"yes", "no"}

    evaluated = run_cli("evaluate", model, new)
    assert evaluated.returncode == 0, evaluated.stderr
    accuracy = next(line for line in evaluated.stdout.splitlines() if "accuracy" in line)
    assert float(accuracy.split()[-1]) >= 0.75
