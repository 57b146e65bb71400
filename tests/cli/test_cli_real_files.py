"""``train`` → ``predict`` → ``evaluate`` on files as Excel on Windows writes them
(Windows-1252, ``;``, decimal commas, euro signs, accounting negatives), and ``--encoding``."""

import csv

import numpy as np
from cli_helpers import run_cli


def _export(path, n, seed, sentinel=False):
    rng = np.random.default_rng(seed)
    rows = ["Kundennr;Région;Umsatz;Saldo;Alter;Klasse"]
    for i in range(n):
        sales, balance = rng.normal(2000, 800), rng.normal(0, 1)
        region = ["Nord", "Süd", "Île-de-France"][i % 3]
        euro = f"{sales:,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
        saldo = f"({-balance:.2f})".replace(".", ",") if balance < 0 else f"{balance:.2f}"
        age = -9999 if sentinel and i == 1 else int(rng.integers(18, 80))
        label = "hoch" if sales > 2000 else "niedrig"
        rows.append(f"{1000 + i};{region};{euro} €;{saldo.replace('.', ',')};{age};{label}")
    path.write_bytes(("\r\n".join(rows) + "\r\n").encode("cp1252"))
    return path


def test_windows_1252_export_round_trip(tmp_path):
    data, model = _export(tmp_path / "kunden.csv", 240, 0), tmp_path / "m.safetensors"
    trained = run_cli(
        "train", data, "--target", "Klasse", "--epochs", "30", "--no-plots", "--out", model
    )
    assert trained.returncode == 0, trained.stderr
    shown = trained.stdout + trained.stderr
    assert "read as Windows-1252" in shown and "--encoding NAME" in shown
    assert "Saldo: " in shown and "read as negative numbers" in shown
    new = _export(tmp_path / "neu.csv", 30, 1, sentinel=True)
    out = tmp_path / "p.csv"
    predicted = run_cli("predict", model, new, "--out", out)
    assert predicted.returncode == 0, predicted.stderr
    assert "Alter: -9999 in 1 row(s) lies far outside the training values" in predicted.stderr
    with open(out, newline="") as f:
        assert {row["predicted_Klasse"] for row in csv.DictReader(f)} <= {"hoch", "niedrig"}
    evaluated = run_cli("evaluate", model, new)
    assert evaluated.returncode == 0, evaluated.stderr
    accuracy = next(line for line in evaluated.stdout.splitlines() if line.startswith("accuracy"))
    assert float(accuracy.split()[-1]) >= 0.8


def test_encoding_flag_reads_a_file_its_own_way_and_names_a_wrong_one(tmp_path):
    path = tmp_path / "mac.csv"
    rows = "".join(f"{i % 5};{['Orléans', 'Nîmes'][i % 2]};{'ab'[i % 2]}\n" for i in range(40))
    path.write_bytes(("x;ville;label\n" + rows).encode("mac-roman"))
    shown = run_cli("inspect", path, "--encoding", "mac-roman")
    assert shown.returncode == 0, shown.stderr
    assert "mac-roman" in shown.stdout and "Orléans" in shown.stdout
    wrong = run_cli("inspect", path, "--encoding", "utf-8")
    assert wrong.returncode != 0
    assert "is not utf-8" in wrong.stderr and "--encoding cp1252" in wrong.stderr
    unknown = run_cli("train", path, "--target", "label", "--encoding", "elvish", "--dry-run")
    assert unknown.returncode != 0 and "unknown encoding 'elvish'" in unknown.stderr
